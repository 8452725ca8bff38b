auto_auth {
  method "gcp" {
    mount_path = "auth/gcp"
    config = {
      type            = "iam"
      role            = "app"
      service_account = "agent@example-project.iam.gserviceaccount.com"
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}
