{{- with pkiCert "pki_int/issue/web-servers" "common_name=foo.example.com" -}}
{{ .Cert }}{{ .CA }}{{ .Key }}
{{ .Key | writeToFile "@OUT@/cert.key" "@USER@" "@GROUP@" "@KEYMODE@" }}
{{ .CA | writeToFile "@OUT@/cert.pem" "@USER@" "@GROUP@" "0644" }}
{{ .Cert | writeToFile "@OUT@/cert.pem" "@USER@" "@GROUP@" "0644" "append" }}
{{- end -}}
