{{- /* The leaf certificate, then the CA chain: nginx's ssl_certificate takes
       both in one file. .Data.ca_chain is a list; printing it whole would
       give Go's [a b] form, so range over it. Keep the secret call identical
       in key.tpl: the same call is one fetch, so cert and key always match. */ -}}
{{- with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" -}}
{{ .Data.certificate }}
{{ range .Data.ca_chain }}{{ . }}
{{ end }}
{{- end -}}
