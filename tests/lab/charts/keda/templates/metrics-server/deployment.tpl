{{- if .Values.metricsServer.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.operator.name }}-metrics-apiserver
  namespace: {{ .Release.Namespace }}
  labels:
    app: {{ .Values.operator.name }}-metrics-apiserver
    app.kubernetes.io/name: {{ .Values.operator.name }}-metrics-apiserver
    {{- include "keda.labels" . | nindent 4 }}
spec:
  revisionHistoryLimit: {{ .Values.metricsServer.revisionHistoryLimit }}
  replicas: {{ .Values.metricsServer.replicaCount }}
  {{- with .Values.upgradeStrategy.metricsApiServer }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ .Values.operator.name }}-metrics-apiserver
  template:
    metadata:
      labels:
        app: {{ .Values.operator.name }}-metrics-apiserver
        app.kubernetes.io/name: {{ .Values.operator.name }}-metrics-apiserver
        {{- include "keda.labels" . | nindent 8 }}
        {{- if .Values.podLabels.metricsAdapter }}
        {{- toYaml .Values.podLabels.metricsAdapter | nindent 8 }}
        {{- end }}
    spec:
      enableServiceLinks: {{ .Values.enableServiceLinks }}
      serviceAccountName: {{ (.Values.serviceAccount.metricServer).name | default .Values.serviceAccount.name }}
      automountServiceAccountToken: {{ include "keda.automount" (dict "account" .Values.serviceAccount.metricServer "root" .) }}
      securityContext:
        {{- toYaml .Values.podSecurityContext.metricServer | nindent 8 }}
      containers:
        - name: {{ .Values.operator.name }}-metrics-apiserver
          image: {{ include "keda.image" (dict "image" .Values.image.metricsApiServer "root" .) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args:
          - "/keda-adapter"
          - "--secure-port=6443"
          securityContext:
            {{- toYaml .Values.securityContext.metricServer | nindent 12 }}
          ports:
          - containerPort: 6443
            name: https
            protocol: TCP
      nodeSelector:
        kubernetes.io/os: linux
{{- end }}
