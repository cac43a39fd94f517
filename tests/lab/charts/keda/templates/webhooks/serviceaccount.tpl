{{- if and .Values.webhooks.enabled ((.Values.serviceAccount.webhooks).create | default .Values.serviceAccount.create) -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    app.kubernetes.io/name: {{ (.Values.serviceAccount.webhooks).name | default .Values.serviceAccount.name }}
    {{- include "keda.labels" . | nindent 4 }}
  {{- with (.Values.serviceAccount.webhooks).annotations | default .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  name: {{ (.Values.serviceAccount.webhooks).name | default .Values.serviceAccount.name }}
  namespace: {{ .Release.Namespace }}
automountServiceAccountToken: {{ include "keda.automount" (dict "account" .Values.serviceAccount.webhooks "root" .) }}
{{- end -}}
