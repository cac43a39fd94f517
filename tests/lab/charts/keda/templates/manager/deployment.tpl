apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.operator.name }}
  namespace: {{ .Release.Namespace }}
  {{- with .Values.additionalAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    app: {{ .Values.operator.name }}
    name: {{ .Values.operator.name }}
    app.kubernetes.io/name: {{ .Values.operator.name }}
    {{- include "keda.labels" . | nindent 4 }}
spec:
  revisionHistoryLimit: {{ .Values.operator.revisionHistoryLimit }}
  replicas: {{ .Values.operator.replicaCount }}
  {{- with .Values.upgradeStrategy.operator }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ .Values.operator.name }}
  template:
    metadata:
      labels:
        app: {{ .Values.operator.name }}
        name: {{ .Values.operator.name }}
        app.kubernetes.io/name: {{ .Values.operator.name }}
        {{- include "keda.labels" . | nindent 8 }}
        {{- if .Values.podLabels.keda }}
        {{- toYaml .Values.podLabels.keda | nindent 8 }}
        {{- end }}
        {{- if .Values.podIdentity.azureWorkload.enabled }}
        azure.workload.identity/use: "true"
        {{- end }}
      {{- if or .Values.podAnnotations.keda .Values.additionalAnnotations }}
      annotations:
        {{- if .Values.podAnnotations.keda }}
        {{- toYaml .Values.podAnnotations.keda | nindent 8 }}
        {{- end }}
        {{- if .Values.additionalAnnotations }}
        {{- toYaml .Values.additionalAnnotations | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      enableServiceLinks: {{ .Values.enableServiceLinks }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      serviceAccountName: {{ (.Values.serviceAccount.operator).name | default .Values.serviceAccount.name }}
      automountServiceAccountToken: {{ include "keda.automount" (dict "account" .Values.serviceAccount.operator "root" .) }}
      securityContext:
        {{- toYaml .Values.podSecurityContext.operator | nindent 8 }}
      containers:
        - name: {{ .Values.operator.name }}
          image: {{ include "keda.image" (dict "image" .Values.image.keda "root" .) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
          - "/keda"
          args:
          - "--leader-elect"
          - "--operator-service-name={{ .Values.operator.name }}"
          - "--metrics-server-service-name={{ .Values.operator.name }}-metrics-apiserver"
          - "--webhooks-service-name={{ .Values.webhooks.name }}"
          securityContext:
            {{- toYaml .Values.securityContext.operator | nindent 12 }}
          ports:
          - containerPort: 8080
            name: http
            protocol: TCP
          - containerPort: 9666
            name: metricsservice
            protocol: TCP
          env:
            - name: WATCH_NAMESPACE
              value: ""
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: OPERATOR_NAME
              value: {{ .Values.operator.name }}
      nodeSelector:
        kubernetes.io/os: linux
