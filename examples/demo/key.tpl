{{- with secret "pki_int/issue/web-servers" "common_name=api.example.com" "ttl=2m" -}}
{{ .Data.private_key }}
{{- end -}}
