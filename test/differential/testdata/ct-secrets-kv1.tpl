{{ range secrets "kv1/" }}
{{ . }}{{ end }}
