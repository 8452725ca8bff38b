auto_auth {
  method "cf" {
    mount_path = "auth/cf"
    config = {
      role = "app"
    }
  }

  sink "file" {
    config = {
      path = "/home/vcap/agent-token"
    }
  }
}
