{{with secret "/auth/token/create" "policies=app" "no_default_policy=true"}}
{{.Auth.ClientToken}}{{ end }}
