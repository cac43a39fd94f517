{{- if .Values.webhooks.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.webhooks.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    app: {{ .Values.webhooks.name }}
    name: {{ .Values.webhooks.name }}
    app.kubernetes.io/name: {{ .Values.webhooks.name }}
    {{- include "keda.labels" . | nindent 4 }}
spec:
  revisionHistoryLimit: {{ .Values.webhooks.revisionHistoryLimit }}
  replicas: {{ .Values.webhooks.replicaCount }}
  {{- with .Values.upgradeStrategy.webhooks }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ .Values.webhooks.name }}
  template:
    metadata:
      labels:
        app: {{ .Values.webhooks.name }}
        name: {{ .Values.webhooks.name }}
        app.kubernetes.io/name: {{ .Values.webhooks.name }}
        {{- include "keda.labels" . | nindent 8 }}
        {{- if .Values.podLabels.webhooks }}
        {{- toYaml .Values.podLabels.webhooks | nindent 8 }}
        {{- end }}
    spec:
      enableServiceLinks: {{ .Values.enableServiceLinks }}
      serviceAccountName: {{ (.Values.serviceAccount.webhooks).name | default .Values.serviceAccount.name }}
      automountServiceAccountToken: {{ include "keda.automount" (dict "account" .Values.serviceAccount.webhooks "root" .) }}
      securityContext:
        {{- toYaml .Values.podSecurityContext.webhooks | nindent 8 }}
      containers:
        - name: {{ .Values.webhooks.name }}
          image: {{ include "keda.image" (dict "image" .Values.image.webhooks "root" .) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
          - /keda-admission-webhooks
          securityContext:
            {{- toYaml .Values.securityContext.webhooks | nindent 12 }}
          ports:
          - containerPort: 9443
            name: http
            protocol: TCP
      nodeSelector:
        kubernetes.io/os: linux
{{- end }}
