package agent

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/sink"
	"github.com/rotorproject/rotor/supervise"
	"github.com/rotorproject/rotor/template"
)

// settings is a configuration translated into each part's own typed
// options. This file is the one place where the configuration schema
// meets the runtime packages: they never import agent/config, and a
// reload compares settings, not configuration files.
type settings struct {
	vault    vaultclient.Config
	maxConns int // max_connections_per_host
	// auth is nil without auto_auth: rotor then uses staticToken.
	auth        *authSettings
	staticToken string
	sinks       []sink.FileOptions

	templates []template.Spec
	envs      []template.EnvSpec
	render    renderSettings
	policy    lease.Policy

	exec      *supervise.Spec
	listeners []ops.ListenerOptions
	proxy     proxySettings
	state     *stateSettings

	pidFile               string
	exitAfterAuth         bool
	revokeOnShutdown      bool
	revokeTokenOnShutdown bool
	logLevel              string
}

// credentialEnv are the environment variables rotor may read a credential
// from, besides the state key's (stateSettings.keyEnv).
var credentialEnv = []string{"VAULT_TOKEN", "BAO_TOKEN"}

// childEnv is the environment of reload commands and the supervised
// child: rotor's own minus every variable it read a credential from
// (VAULT_TOKEN, the state key, the aws method's AWS keys). A child that
// needs one gets it explicitly, from an env_template (e.g.
// {{ env "VAULT_TOKEN" }}).
func (s *settings) childEnv() []string {
	drop := slices.Clone(credentialEnv)
	if s.state != nil && s.state.keyEnv != "" {
		drop = append(drop, s.state.keyEnv)
	}
	if s.auth != nil {
		drop = append(drop, auth.CredentialEnv(s.auth.method.Type)...)
	}
	return command.Environ(os.Environ(), drop...)
}

// authSettings are the auto_auth method and its retry behaviour.
type authSettings struct {
	method                 auth.MethodOptions
	namespace              string
	minBackoff, maxBackoff time.Duration
	exitOnErr              bool
	// wrapTTL is the method's wrap_ttl: a wrapped login, whose wrap info
	// goes to the one sink (see auth/wrapped.go).
	wrapTTL time.Duration
}

func (a *authSettings) equal(b *authSettings) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.method.Equal(b.method) && a.namespace == b.namespace && a.minBackoff == b.minBackoff &&
		a.maxBackoff == b.maxBackoff && a.exitOnErr == b.exitOnErr && a.wrapTTL == b.wrapTTL
}

// checkWrapped refuses what cannot work with a method's wrap_ttl. rotor
// never sees that token, so templates have no token to read secrets with
// (Vault Agent accepts them, and its templates then fail with the wrapping
// token), and token_file has no login to wrap.
func checkWrapped(s *settings) error {
	if s.auth == nil || s.auth.wrapTTL == 0 {
		return nil
	}
	if len(s.templates) > 0 || len(s.envs) > 0 {
		return errors.New("auto_auth: the method's wrap_ttl hands the token, unseen by rotor, to the sink's reader, so templates cannot use it: remove wrap_ttl or the templates")
	}
	if s.auth.method.Type == "token_file" {
		return errors.New("auto_auth: wrap_ttl on a token_file method: there is no login to wrap")
	}
	return nil
}

// renderSettings are the template runner's knobs that are not per template.
type renderSettings struct {
	exitOnRetryFailure bool
	maxRetries         int
	once               bool
}

// stateSettings say where the state file lives and where its key comes from.
type stateSettings struct {
	dir               string
	keyFile           string
	keyEnv            string
	kubernetesSAToken bool
	bind              string // what the state belongs to: Vault address and auth mount
	// exitOnErr stops rotor when a state file cannot be restored (cache
	// persist's exit_on_err); otherwise rotor starts fresh.
	exitOnErr bool
}

// translate turns a loaded configuration into settings.
func translate(cfg *config.Config) *settings {
	v := cfg.Vault
	s := &settings{
		vault: vaultclient.Config{Address: v.Address, CACert: v.CACert, CAPath: v.CAPath, ClientCert: v.ClientCert,
			ClientKey: v.ClientKey, TLSSkipVerify: v.TLSSkipVerify, TLSServerName: v.TLSServerName,
			Namespace: v.Namespace, NumRetries: v.NumRetries},
		maxConns:    cfg.TemplateConfig.MaxConnectionsPerHost,
		staticToken: string(cfg.Token),
		render: renderSettings{exitOnRetryFailure: cfg.TemplateConfig.ExitOnRetryFailure,
			maxRetries: v.NumRetries, once: cfg.ExitAfterAuth},
		policy: lease.Policy{Threshold: cfg.TemplateConfig.LeaseRenewalThreshold,
			StaticInterval: cfg.TemplateConfig.StaticSecretRenderInterval},
		pidFile:               cfg.PidFile,
		exitAfterAuth:         cfg.ExitAfterAuth,
		revokeOnShutdown:      cfg.RevokeOnShutdown,
		revokeTokenOnShutdown: cfg.RevokeTokenOnShutdown,
		logLevel:              cfg.LogLevel,
	}
	if aa := cfg.AutoAuth; aa != nil && aa.Method != nil {
		s.auth = translateAuth(aa.Method)
		for _, sk := range aa.Sinks {
			s.sinks = append(s.sinks, sink.FileOptions{Path: sk.Path, Mode: sk.Mode, Owner: owner(sk.Owner), WrapTTL: sk.WrapTTL,
				DH: sink.DHOptions{Type: sk.DHType, Path: sk.DHPath, DeriveKey: sk.DeriveKey, AAD: string(sk.AAD)}})
		}
	}
	for _, t := range cfg.Templates {
		s.templates = append(s.templates, template.Spec{
			Source: t.Source, Contents: t.Contents, Destination: t.Destination, Perms: templatePerms(t.Perms), Owner: owner(t.Owner),
			CreateDestDirs: t.CreateDestDirs, Backup: t.Backup, Command: cmd(t.Command), CommandTimeout: t.CommandTimeout,
			ErrorOnMissingKey: t.ErrorOnMissingKey, LeftDelim: t.LeftDelim, RightDelim: t.RightDelim,
			SandboxPath: t.SandboxPath, WaitMin: t.WaitMin, WaitMax: t.WaitMax, RevokeOnShutdown: t.RevokeOnShutdown,
			FunctionDenylist: slices.Clone(t.FunctionDenylist), PermsUnset: t.Perms == 0,
			MaxBytes: int64(cfg.TemplateConfig.MaxRenderedBytes),
			Renewal:  lease.Policy{Threshold: t.LeaseRenewalThreshold, StaticInterval: t.StaticSecretRenderInterval},
			Confirm:  confirmSpec(t.Confirm),
		})
	}
	for _, e := range cfg.EnvTemplates {
		s.envs = append(s.envs, template.EnvSpec{Name: e.Name, Source: e.Source, Contents: e.Contents, ErrorOnMissingKey: e.ErrorOnMissingKey,
			LeftDelim: e.LeftDelim, RightDelim: e.RightDelim, FunctionDenylist: slices.Clone(e.FunctionDenylist)})
	}
	if e := cfg.Exec; e != nil {
		s.exec = &supervise.Spec{Command: cmd(e.Command), RestartOnSecretChanges: e.RestartOnSecretChanges,
			StopSignal: e.RestartStopSignal, KillTimeout: e.RestartKillTimeout, ReloadSignal: e.ReloadSignal, Debounce: e.Debounce}
	}
	for _, l := range cfg.Listeners {
		if l.Type == "unix" && l.Address == "" {
			continue // Vault Agent's socket has no path (warned at load)
		}
		lo := ops.ListenerOptions{Type: l.Type, Address: l.Address, Mode: l.Mode,
			TLSCertFile: l.TLSCertFile, TLSKeyFile: l.TLSKeyFile, TLSMinVersion: l.TLSMinVersion, TLSMaxVersion: l.TLSMaxVersion,
			TLSCipherSuites: l.TLSCipherSuites, TLSRequireClientCert: l.TLSRequireAndVerifyClientCert,
			TLSClientCAFile: l.TLSClientCAFile, TLSDisableClientCerts: l.TLSDisableClientCerts, EnableRotate: l.EnableRotate,
			RequireRequestHeader: l.RequireRequestHeader, Role: l.Role, SocketUser: l.SocketUser, SocketGroup: l.SocketGroup,
			AllowedHosts: strings.Join(l.AllowedHosts, ","), TLSDisable: l.TLSDisable, EnableQuit: l.AgentAPIEnableQuit}
		if l.TLSDisable {
			// As Vault's listener: tls_disable serves plain HTTP whatever
			// else the block says (the TLS keys were warned about).
			lo.TLSCertFile, lo.TLSKeyFile = "", ""
		}
		s.listeners = append(s.listeners, lo)
	}
	if st := cfg.State; st != nil {
		bind := v.Address + "|token"
		if s.auth != nil {
			bind = v.Address + "|" + s.auth.method.MountPath
		}
		s.state = &stateSettings{dir: st.Dir, keyFile: st.KeyFile, keyEnv: st.KeyEnv, kubernetesSAToken: st.KubernetesSAToken, bind: bind}
	}
	s.proxy = translateProxy(cfg)
	if s.state == nil {
		bind := v.Address + "|token"
		if s.auth != nil {
			bind = v.Address + "|" + s.auth.method.MountPath
		}
		s.state = persistState(cfg, bind)
	}
	return s
}

func translateAuth(m *config.Method) *authSettings {
	o := auth.MethodOptions{Type: m.Type, MountPath: m.MountPath}
	switch {
	case m.AppRole != nil:
		a := m.AppRole
		o.AppRole = &auth.AppRoleOptions{RoleIDFilePath: a.RoleIDFilePath, SecretIDFilePath: a.SecretIDFilePath,
			RemoveSecretIDFileAfterReading: a.RemoveSecretIDFileAfterReading, SecretIDResponseWrappingPath: a.SecretIDResponseWrappingPath}
	case m.Kubernetes != nil:
		o.Kubernetes = &auth.KubernetesOptions{Role: m.Kubernetes.Role, TokenPath: m.Kubernetes.TokenPath}
	case m.JWT != nil:
		o.JWT = &auth.JWTOptions{Path: m.JWT.Path, Role: m.JWT.Role, RemoveJWTAfterReading: m.JWT.RemoveJWTAfterReading}
	case m.Cert != nil:
		c := m.Cert
		o.Cert = &auth.CertOptions{Name: c.Name, CACert: c.CACert, ClientCert: c.ClientCert, ClientKey: c.ClientKey, Reload: c.Reload}
	case m.TokenFile != nil:
		o.TokenFile = &auth.TokenFileOptions{Path: m.TokenFile.Path}
	case m.AWS != nil:
		a := m.AWS
		o.AWS = &auth.AWSOptions{Type: a.Type, Role: a.Role, AccessKey: string(a.AccessKey), SecretKey: string(a.SecretKey),
			SessionToken: string(a.SessionToken), HeaderValue: a.HeaderValue, Nonce: string(a.Nonce), Region: a.Region}
	case m.GCP != nil:
		g := m.GCP
		o.GCP = &auth.GCPOptions{Type: g.Type, Role: g.Role, Credentials: string(g.Credentials), ServiceAccount: g.ServiceAccount, JWTExp: g.JWTExp}
	case m.Azure != nil:
		a := m.Azure
		o.Azure = &auth.AzureOptions{Role: a.Role, Resource: a.Resource, ObjectID: a.ObjectID, ClientID: a.ClientID, Scope: a.Scope,
			AuthenticateFromEnvironment: a.AuthenticateFromEnvironment}
	case m.AliCloud != nil:
		a := m.AliCloud
		o.AliCloud = &auth.AliCloudOptions{Role: a.Role, Region: a.Region, AccessKey: string(a.AccessKey), AccessSecret: string(a.AccessSecret),
			AccessToken: string(a.AccessToken), RoleName: a.RoleName}
	case m.LDAP != nil:
		l := m.LDAP
		o.LDAP = &auth.LDAPOptions{Username: l.Username, PasswordFilePath: l.PasswordFilePath,
			RemovePasswordAfterReading: l.RemovePasswordAfterReading, RemovePasswordFollowsSymlinks: l.RemovePasswordFollowsSymlinks}
	case m.Kerberos != nil:
		k := m.Kerberos
		o.Kerberos = &auth.KerberosOptions{Username: k.Username, Service: k.Service, Realm: k.Realm, KeytabPath: k.KeytabPath,
			Krb5ConfPath: k.Krb5ConfPath, DisableFASTNegotiation: k.DisableFASTNegotiation, RemoveInstanceName: k.RemoveInstanceName}
	case m.CF != nil:
		o.CF = &auth.CFOptions{Role: m.CF.Role, InstanceCert: m.CF.InstanceCert, InstanceKey: m.CF.InstanceKey}
	case m.OCI != nil:
		o.OCI = &auth.OCIOptions{Type: m.OCI.Type, Role: m.OCI.Role}
	}
	return &authSettings{method: o, namespace: m.Namespace, minBackoff: m.MinBackoff, maxBackoff: m.MaxBackoff, exitOnErr: m.ExitOnErr,
		wrapTTL: m.WrapTTL}
}

// owner turns the configuration's owner (names or numbers, in two forms)
// into the writer's one form.
func owner(o config.Owner) atomicfile.Owner {
	out := atomicfile.Owner{User: o.User, Group: o.Group}
	if o.UID != nil {
		out.User = strconv.Itoa(*o.UID)
	}
	if o.GID != nil {
		out.Group = strconv.Itoa(*o.GID)
	}
	return out
}

func cmd(c config.Command) command.Command {
	return command.Command{Argv: slices.Clone(c.Argv), Shell: c.Shell}
}

// restartNeeded lists the differences between two settings that a reload
// cannot apply: the parts built once at start.
func restartNeeded(old, cur *settings) []string {
	var why []string
	check := func(name string, same bool) {
		if !same {
			why = append(why, name)
		}
	}
	check("vault block", old.vault == cur.vault)
	check("state block", eqPtr(old.state, cur.state))
	check("exec block", (old.exec == nil) == (cur.exec == nil) && (old.exec == nil || old.exec.Equal(*cur.exec)))
	check("listener blocks", slices.Equal(old.listeners, cur.listeners))
	check("api_proxy and cache blocks", old.proxy == cur.proxy)
	check("pid_file", old.pidFile == cur.pidFile)
	check("template_config.max_connections_per_host", old.maxConns == cur.maxConns)
	if (old.auth == nil) != (cur.auth == nil) {
		why = append(why, "adding or removing auto_auth")
	}
	return why
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// confirmSpec is a template's confirm block as the runner takes it (nil:
// none).
func confirmSpec(c *config.Confirm) *template.Confirm {
	if c == nil {
		return nil
	}
	return &template.Confirm{TLS: c.TLS, ServerName: c.ServerName, HTTP: c.HTTP, Command: cmd(c.Command),
		Timeout: c.Timeout, Interval: c.Interval, Reloads: c.Reloads, RestartExec: c.RestartExec}
}
