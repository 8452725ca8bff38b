{{ with secret "kv1/passwords" }}
{{ .Data.wifi }}{{ end }}
