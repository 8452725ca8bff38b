pid_file = "./agent.pid"
exit_after_auth = true

auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "ci/role-id"
      secret_id_file_path = "ci/secret-id"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}

template {
  contents = <<EOF2
    {{ with secret "gcp/token/ci-deployer" }}
    {{ .Data.token }}
    {{ end }}
  EOF2
  destination = "/tmp/gcp-token"
}
