# rotor on an nginx host: a PKI certificate and its key for nginx, renewed
# before they expire, with one `nginx -s reload` per rotation.
#
# Install:
#   /etc/rotor/rotor.hcl            this file
#   /etc/rotor/templates/cert.tpl   configs/nginx/cert.tpl
#   /etc/rotor/templates/key.tpl    configs/nginx/key.tpl
#   /etc/nginx/sites-enabled/api    configs/nginx/nginx-site.conf
# Check: rotor validate -config /etc/rotor/rotor.hcl
#
# Vault side (once):
#   vault write pki_int/roles/web-servers allowed_domains=internal.example.com \
#       allow_subdomains=true max_ttl=72h
#   and a policy for rotor's AppRole with: path "pki_int/issue/web-servers" { capabilities = ["update"] }
#
# Who may reload nginx: `nginx -s reload` signals nginx's master process, which
# runs as root. Under configs/systemd/rotor.service (User=rotor) that is not
# allowed. Either run rotor as root on this host (a drop-in with User=root), or
# use ["systemctl", "reload", "nginx"] with a polkit rule letting the rotor user
# reload nginx.service (see rotor.service).

pid_file = "/run/rotor/rotor.pid" # for `rotor rotate`: re-issue the certificate now

vault {
  address = "https://vault.example.com:8200"
  ca_cert = "/etc/rotor/vault-ca.pem" # drop this line if Vault's certificate is publicly trusted
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/etc/rotor/role_id"
      secret_id_file_path = "/etc/rotor/secret_id"
      # The secret_id is read once and kept in memory; keep the file so a
      # restarted rotor can log in again.
      remove_secret_id_file_after_reading = false
    }
  }
}

# The certificate (with its CA chain, the form nginx's ssl_certificate
# wants) and the key. Both templates make the same call with the same
# arguments, so rotor fetches one certificate and gives both the matching
# halves; it checks that the key matches the certificate before writing
# either file.
#
# Both templates have the same exec block, so they form one reload group:
# on rotation rotor writes the certificate and the key, then runs the
# command once. nginx never sees a new certificate with the old key.
template {
  source      = "/etc/rotor/templates/cert.tpl"
  destination = "/etc/nginx/tls/server.crt"
  perms       = "0644"
  exec {
    command = ["nginx", "-s", "reload"]
    timeout = "30s"
  }
}

template {
  source      = "/etc/rotor/templates/key.tpl"
  destination = "/etc/nginx/tls/server.key"
  perms       = "0600" # nginx's master process (root) reads the key before dropping privileges
  exec {
    command = ["nginx", "-s", "reload"]
    timeout = "30s"
  }
}

template_config {
  # Re-issue at 2/3 of the certificate's life (72h -> after ~48h), leaving a
  # day to notice and fix a failing renewal before the certificate expires.
  lease_renewal_threshold = 0.66
}
