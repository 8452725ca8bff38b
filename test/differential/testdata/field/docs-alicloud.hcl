auto_auth {
  method "alicloud" {
    mount_path = "auth/alicloud"
    config = {
      role = "app"
      region = "us-east-1"
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}
