{{ with secret "pki_int/issue/web-servers" "common_name=foo.example.com" }}
{{ .Data.certificate }}{{ end }}
