{{ with secret "secret/passwords?version=1" }}
{{ .Data.data.wifi }}{{ end }}
