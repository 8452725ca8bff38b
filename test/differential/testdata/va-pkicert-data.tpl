{{ with pkiCert "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" }}
{{ .Data.Key }}{{ .Data.Cert }}{{ .Data.CA }}
{{ range .CAChain }}{{ . }}{{ end }}{{ end }}
