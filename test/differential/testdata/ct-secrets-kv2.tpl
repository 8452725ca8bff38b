{{ range secrets "secret/" }}
{{ . }}{{ end }}
