
vault {
  address = "https://VAULT_ADDR:8200"
}
auto_auth {
  method {
    type = "token_file"

    config = {
      token_file_path = "C:\\Program Files\\Agent\\token"
    }
  }
}
template {
source = "C:\\Agent\\cert.tpl"
destination = "C:\\Agent\Data\\cert.crt"
command = "Import-Certificate -FilePath 'C:\\Agent\\Data\\cert.crt"
}
