{{ with secret "secret/passwords" }}version={{ .Data.metadata.version }} created={{ .Data.metadata.created_time }} destroyed={{ .Data.metadata.destroyed }}
metadata={{ .Data.metadata | toJSON }}
data={{ .Data.data | toJSON }}
{{ .Data.data | toJSONPretty }}
{{ end }}{{ with secret "secret/passwords?version=1" }}v1={{ .Data | toJSON }}
{{ end }}{{ with secret "kv1/passwords" }}kv1={{ .Data | toJSON }}
{{ end }}
