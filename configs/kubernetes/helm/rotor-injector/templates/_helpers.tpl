{{/* The image rotor runs as. */}}
{{- define "rotor-injector.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The Secret holding the serving certificate. */}}
{{- define "rotor-injector.tlsSecret" -}}
{{ default (printf "%s-tls" .Release.Name) .Values.tls.secretName }}
{{- end -}}
