{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "fluxguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release name. */}}
{{- define "fluxguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Common labels; pass a dict with "root" (the top context) and "component". */}}
{{- define "fluxguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fluxguard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: fluxguard
app.kubernetes.io/component: {{ .component }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fluxguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fluxguard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fluxguard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "fluxguard.monitor.fullname" -}}
{{- printf "%s-monitor" (include "fluxguard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fluxguard.monitor.serviceAccountName" -}}
{{- if .Values.monitor.serviceAccount.create -}}
{{- default (include "fluxguard.monitor.fullname" .) .Values.monitor.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.monitor.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* A restricted pod and container security context shared by every component. */}}
{{- define "fluxguard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "fluxguard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "fluxguard.webhook.fullname" -}}
{{- printf "%s-webhook" (include "fluxguard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fluxguard.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create -}}
{{- default (include "fluxguard.webhook.fullname" .) .Values.webhook.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.webhook.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "fluxguard.webhook.secretName" -}}
{{- default (printf "%s-tls" (include "fluxguard.webhook.fullname" .)) .Values.webhook.existingSecret -}}
{{- end -}}
