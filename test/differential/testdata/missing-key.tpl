{{ with secret "secret/passwords" }}[{{ .Data.data.nope }}]{{ end }}
{{ with secret "database/creds/myapp-readonly" }}[{{ .Data.nope }}]{{ end }}
{{ with secret "kv1/passwords" }}[{{ .Data.wifi }}]{{ end }}
