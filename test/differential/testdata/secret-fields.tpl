{{ with secret "database/creds/myapp-readonly" }}lease_id={{ .LeaseID }}
lease_duration={{ .LeaseDuration }} renewable={{ .Renewable }} request_id={{ .RequestID }} warnings={{ .Warnings }}
{{ .Data | toJSON }}
{{ end }}{{ with secret "secret/passwords" }}{{ toJSON . }}
{{ end }}{{ with secret "kv1/passwords" }}{{ . }}
{{ end }}
