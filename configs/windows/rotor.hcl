# rotor as a Windows service next to an IIS site: a database password
# rendered for the application pool, which is recycled when it changes.
#
# Install (configs/windows/install-service.ps1 does all of it):
#   C:\rotor\rotor.exe              the release's rotor.exe
#   C:\rotor\rotor.hcl              this file
#   C:\rotor\role_id, secret_id     the AppRole credentials
# Check: C:\rotor\rotor.exe validate -config C:\rotor\rotor.hcl
#
# Paths: HCL strings need doubled backslashes ("C:\\rotor\\x"); forward
# slashes ("C:/rotor/x") work too.

# For `rotor reload` and `rotor rotate` (named events; see docs/platforms.md).
pid_file = "C:\\rotor\\rotor.pid"

vault {
  address = "https://vault.example.com:8200"
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path                   = "C:\\rotor\\role_id"
      secret_id_file_path                 = "C:\\rotor\\secret_id"
      remove_secret_id_file_after_reading = false
    }
  }

  # perms on Windows is an ACL (docs/platforms.md, "Windows"): 0600 leaves the token
  # to SYSTEM, Administrators and rotor's own account.
  sink "file" {
    config = {
      path = "C:\\rotor\\token"
      mode = 0600
    }
  }
}

# The application pool's identity may read the file, nobody else: the
# owner bits of perms go to `user`. No "other" bits, so BUILTIN\Users get
# nothing. A command given as a string runs through cmd.exe /C (there is
# no /bin/sh); this one is an argv list, run directly.
template {
  destination = "C:\\inetpub\\myapp\\App_Data\\db.json"
  perms       = "0400"
  # Uncomment, naming your pool: rotor validate resolves accounts on the
  # machine it runs on, and IIS AppPool\MyApp exists only on that server.
  # Without it only SYSTEM, Administrators and rotor's account may read.
  # user      = "IIS AppPool\\MyApp"
  contents    = <<-EOT
    {{ with secret "database/creds/myapp" -}}
    { "username": "{{ .Data.username }}", "password": "{{ .Data.password }}" }
    {{- end }}
  EOT
  exec {
    command = ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
      "Import-Module WebAdministration; Restart-WebAppPool -Name MyApp"]
    timeout = "60s"
  }
}
