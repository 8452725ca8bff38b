{{ with secret "database/static-creds/legacy-app" }}{{ .Data.username }}:{{ .Data.password }} every {{ .Data.rotation_period }}s
{{ end }}