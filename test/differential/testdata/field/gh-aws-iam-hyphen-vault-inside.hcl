pid_file = "./agent.pid"

auto_auth {
	method {
		type = "aws-iam"
		mount_path = "auth/aws"
		config = {
			role = "app"
		}
	}

	vault {
		address = "http://127.0.0.1:8200"
		tls_skip_verify = true
	}

	sink "file" {
		path = "/tmp/token-one"
	}

	sink "file" {
		path = "/tmp/token-two"
	}
}
