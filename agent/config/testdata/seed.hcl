# vault-agent-config.hcl
auto_auth {
method "kubernetes" {
mount_path = "auth/kubernetes"
config = {
role = "web-server"
}
}
}
template {
source = "/etc/vault-agent/templates/cert.tpl"
destination = "/etc/tls/server.crt"
perms = "0644"
command = "systemctl reload nginx"
}
template {
source = "/etc/vault-agent/templates/key.tpl"
destination = "/etc/tls/server.key"
perms = "0600"
command = "systemctl reload nginx"
}
