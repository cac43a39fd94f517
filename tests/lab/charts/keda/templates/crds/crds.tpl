{{- /*
The four keda.sh CRDs, as the real chart installs them with crds.install=true (its templates/crds/).
Minimal schemas (x-kubernetes-preserve-unknown-fields): the real ones are in shared/reference/keda/
and tests that need schema checks install those.
*/ -}}
{{- if .Values.crds.install }}
{{- range $crd := list
      (dict "kind" "ScaledObject" "plural" "scaledobjects" "singular" "scaledobject" "short" (list "so") "scope" "Namespaced")
      (dict "kind" "ScaledJob" "plural" "scaledjobs" "singular" "scaledjob" "short" (list "sj") "scope" "Namespaced")
      (dict "kind" "TriggerAuthentication" "plural" "triggerauthentications" "singular" "triggerauthentication" "short" (list "ta" "triggerauth") "scope" "Namespaced")
      (dict "kind" "ClusterTriggerAuthentication" "plural" "clustertriggerauthentications" "singular" "clustertriggerauthentication" "short" (list "cta" "clustertriggerauth") "scope" "Cluster") }}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {{ $crd.plural }}.keda.sh
  labels:
    app.kubernetes.io/name: keda-operator
    app.kubernetes.io/part-of: {{ $.Values.operator.name }}
    app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
spec:
  group: keda.sh
  names:
    kind: {{ $crd.kind }}
    listKind: {{ $crd.kind }}List
    plural: {{ $crd.plural }}
    singular: {{ $crd.singular }}
    shortNames:
    {{- range $crd.short }}
      - {{ . }}
    {{- end }}
  scope: {{ $crd.scope }}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources:
        status: {}
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
{{- end }}
{{- end }}
