{{/* The chart name, or nameOverride. */}}
{{- define "qmp-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of every object: fullnameOverride, or RELEASE-NAME unless the release name already holds it. */}}
{{- define "qmp-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "qmp-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "qmp-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qmp-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "qmp-exporter.labels" -}}
helm.sh/chart: {{ include "qmp-exporter.chart" . }}
{{ include "qmp-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: metrics
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "qmp-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "qmp-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "qmp-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The VM lists, checked: {"common": [...], "nodes": {NODE: [...]}}, each VM as the exporter's {"Name", "Socket"}.
Fails on a duplicate name and on a unix socket outside qmp.socketHostPath (it would not be mounted in the pod).
*/}}
{{- define "qmp-exporter.vmLists" -}}
{{- $root := trimSuffix "/" .Values.qmp.socketHostPath }}
{{- $common := list }}
{{- $nodes := dict }}
{{- $seen := dict }}
{{- range $i, $vm := .Values.vms }}
{{- if hasKey $seen $vm.name }}
{{- fail (printf "vms[%d]: the name %q is used twice; VM names are the vm label and must be unique" $i $vm.name) }}
{{- end }}
{{- $_ := set $seen $vm.name true }}
{{- $path := trimPrefix "unix:" $vm.socket }}
{{- if and (not (hasPrefix "tcp:" $vm.socket)) (not (hasPrefix (printf "%s/" $root) $path)) }}
{{- fail (printf "vms[%d] (%s): socket %q is not under qmp.socketHostPath %q, the only host directory mounted in the pod" $i $vm.name $vm.socket $root) }}
{{- end }}
{{- $entry := dict "Name" $vm.name "Socket" $vm.socket }}
{{- if $vm.node }}
{{- $_ := set $nodes $vm.node (append (get $nodes $vm.node | default list) $entry) }}
{{- else }}
{{- $common = append $common $entry }}
{{- end }}
{{- end }}
{{- dict "common" $common "nodes" $nodes | toJson }}
{{- end }}
