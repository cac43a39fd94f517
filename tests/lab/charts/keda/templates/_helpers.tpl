{{/* Labels as kedacore/keda's _helpers.tpl renders them. */}}
{{- define "keda.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keda.crd-labels" }}
helm.sh/chart: {{ include "keda.chart" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Values.operator.name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion }}
{{- end }}
{{- end }}

{{- define "keda.labels" -}}
{{- include "keda.crd-labels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Values.additionalLabels }}
{{ toYaml .Values.additionalLabels }}
{{- end }}
{{- end }}

{{/* image reference: registry (global, then per image) / repository : tag (default appVersion) */}}
{{- define "keda.image" -}}
{{- $registry := .root.Values.global.image.registry | default .image.registry | default "" -}}
{{- if $registry -}}
{{ $registry }}/{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- else -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* automountServiceAccountToken: the per-account key, else the legacy flat key (kindIs "invalid" = unset). */}}
{{- define "keda.automount" -}}
{{- kindIs "invalid" (.account).automountServiceAccountToken | ternary .root.Values.serviceAccount.automountServiceAccountToken (.account).automountServiceAccountToken -}}
{{- end -}}
