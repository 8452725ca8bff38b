pid_file = "/tmp/agent.pid"
auto_auth {
    method "approle" {
        mount_path = "auth/approle"
        config = {
            role_id_file_path = "/tmp/role-id"
            secret_id_file_path = "/tmp/secret-id"
        }
    }
    sink "file" {
        config = {
            path = "/tmp/agent-token"
        }
    }
}

# KV v2 into an env file
template {
    contents = <<TPL
        {{- with secret "kv/data/app" }}
        user={{ .Data.data.user }}
        pass={{ .Data.data.pass }}
        {{- end }}
TPL
    destination = "/tmp/app.env"
    perms        = "0640"
}

# static AWS credentials
template {
    contents = <<TPL
    {{- with secret "aws/static-creds/app" }}
    AWS_ACCESS_KEY_ID={{ .Data.access_key }}
    AWS_SECRET_ACCESS_KEY={{ .Data.secret_key }}
    {{- end }}
TPL
    destination = "/tmp/app-aws.env"
    perms        = "0640"
}
