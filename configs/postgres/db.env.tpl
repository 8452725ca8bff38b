{{- /* One call, one lease: every line below uses the same username and
       password. Vault's default password policy gives URL-safe passwords;
       the escaping keeps the URL valid under one that does not. urlquery
       writes a space as "+", which means "+" in a URL's user info, hence
       the replaceAll (a real "+" is already %2B). */ -}}
{{- with secret "database/creds/myapp-readonly" -}}
DATABASE_URL=postgresql://{{ .Data.username | urlquery | replaceAll "+" "%20" }}:{{ .Data.password | urlquery | replaceAll "+" "%20" }}@db.internal.example.com:5432/myapp
PGHOST=db.internal.example.com
PGPORT=5432
PGDATABASE=myapp
PGUSER={{ .Data.username }}
PGPASSWORD={{ .Data.password }}
{{ end -}}
