{{ with secret "secret/passwords" }}
{{ if .Data.data.router }}
password = "{{ .Data.data.router }}"
{{ end }}
{{ end }}
