{{ with secret "database/creds/myapp-readonly" -}}
DBUser:{{ .Data.username }}
DBPassword:{{ .Data.password }}
{{ end -}}
