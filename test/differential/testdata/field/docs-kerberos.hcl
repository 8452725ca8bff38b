auto_auth {
  method "kerberos" {
    mount_path = "auth/kerberos"
    config = {
      username = "svc-app"
      service = "HTTP/vault.example.com"
      realm = "EXAMPLE.COM"
      keytab_path = "/etc/krb5/app.keytab"
      krb5conf_path = "/etc/krb5.conf"
      disable_fast_negotiation = false
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}

vault {
  address = "https://vault.example.com:8200"
}
