cache {
  use_auto_auth_token = true
}
listener "unix" {
	address = "/tmp/registry-agent.sock"
}
auto_auth {
	method "approle" {
		mount_path = "auth/approle"
		config = {
			role_id_file_path   = "/tmp/registry-role-id"
			secret_id_file_path = "/tmp/registry-secret-id"
			secret              = "secret/registry/creds"
		}
	}
}
