# A starting point for a VM or sidecar: AppRole login, one token sink.
# Check it with: rotor validate -config configs/agent.hcl
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
      role_id_file_path   = "/etc/rotor/role_id"
      secret_id_file_path = "/etc/rotor/secret_id"
      # Keep the file. The default (true) deletes it after the first read,
      # and under configs/systemd/rotor.service /etc is read-only
      # (ProtectSystem=strict): the delete fails, so does every login, and
      # rotor never becomes ready. Kept, it also lets a restarted rotor log
      # in again. (For a secret_id that must go once read, deliver it into
      # a writable directory such as /run/rotor and set this to true.)
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/run/rotor/token"
      mode = 0640
    }
  }
}
