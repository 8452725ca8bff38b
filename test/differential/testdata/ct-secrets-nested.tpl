{{ range secrets "kv1/app/" }}
{{ with secret (printf "kv1/app/%s" .) }}{{ range $k, $v := .Data }}
{{ $k }}: {{ $v }}
{{ end }}{{ end }}{{ end }}
