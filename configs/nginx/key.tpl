{{- /* The private key of the certificate in cert.tpl: the same call, with the
       same arguments, so rotor fetches one certificate for both files. */ -}}
{{- with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" -}}
{{ .Data.private_key }}
{{ end -}}
