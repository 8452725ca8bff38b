{{ with pkiCert "pki_int/issue/web-servers" "common_name=foo.example.com" }}
Private Key: {{ .Key }}
Cert Authority: {{ .CA }}
{{ end }}
{{ with secret "pki_int/cert/ca_chain" }}
CA+Chain: {{ .Data.ca_chain }}
{{ end }}
