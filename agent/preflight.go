package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// PreflightOptions configure Preflight.
type PreflightOptions struct {
	// Token, if set, is used instead of the configuration's auth method.
	// rotor did not create it, so it is never revoked.
	Token  string
	Logger *slog.Logger
}

// ErrCannotCheck marks a Preflight that checked nothing: the login failed,
// or Vault did not answer.
var ErrCannotCheck = errors.New("cannot check against Vault")

// Preflight is rotor validate -online: it logs in once with the
// configuration's auth method (or o.Token), and asks Vault, for every
// template and env_template, whether it would render: each path it uses
// is checked with sys/capabilities-self, and the template is executed in
// memory (a dry run, see template.DryRun and preflight_vault.go for what
// is read for real and what gets a placeholder). Sinks' and destinations'
// directories are checked for write permission with access(2), commands
// for existence on PATH. It writes no file, runs no command, creates no
// lease, and revokes the token it logged in for (never a token it was
// given). It returns an error wrapping ErrCannotCheck when nothing could
// be checked. cfg must have passed Validate.
func Preflight(ctx context.Context, cfg *config.Config, o PreflightOptions) (*Report, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := translate(cfg)
	client, err := vaultclient.New(s.vault, vaultclient.Options{MaxConnsPerHost: s.maxConns, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotCheck, err)
	}
	aopts, how, err := preflightAuth(s, o, log)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotCheck, err)
	}
	aopts.Client = client
	tok, err := auth.LoginOnce(ctx, aopts)
	if err != nil {
		return nil, fmt.Errorf("%w: log in (%s): %v", ErrCannotCheck, how, err)
	}
	rep := &Report{Vault: RedactedAddress(s.vault.Address), Auth: how, Parts: []Part{}}
	defer func() {
		// The token goes back even when ctx is done: a fresh, short context.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		revoked, err := auth.Revoke(rctx, aopts, tok)
		rep.TokenRevoked = revoked
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the token could not be revoked: %v; it expires by itself (accessor %s)", err, tok.Accessor))
		}
		rep.OK = rep.Failing() == 0 && rep.Unchecked() == 0
	}()

	store := lease.NewStore(lease.Options{Client: client, MaxParallel: s.maxConns, Logger: log})
	if err := store.SetToken(tok); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotCheck, err)
	}
	tc, err := client.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotCheck, err)
	}
	tc.SetToken(tok.Value())
	vaulterr.Prepare(tc)
	r := &resolver{c: tc, store: store, caps: map[string][]string{}, notes: map[string]string{}}
	dry := template.DryOptions{Resolve: r.resolve}
	secrets := func(extra []string) *redact.Set {
		return redact.New(store.Values()).Plus(slices.Values(append(extra, tok.Value())))
	}

	for i, t := range s.templates {
		p := Part{Kind: "template", Name: t.Destination, Position: cfg.Templates[i].Range.String(), Status: statusOK}
		res := template.DryRun(ctx, t, dry)
		r.judge(&p, res, secrets(res.FileValues))
		checkDestination(&p, t)
		if !t.Command.IsZero() {
			checkCommand(&p, t.Command.Resolve()[0], t.Command.Shell != "")
		}
		rep.Parts = append(rep.Parts, p)
	}
	for i, e := range s.envs {
		p := Part{Kind: "env_template", Name: e.Name, Position: cfg.EnvTemplates[i].Range.String(), Status: statusOK}
		res := template.DryRunEnv(ctx, e, dry)
		r.judge(&p, res, secrets(res.FileValues))
		rep.Parts = append(rep.Parts, p)
	}
	for i, sk := range s.sinks {
		p := Part{Kind: "sink", Name: sk.Path, Position: cfg.AutoAuth.Sinks[i].Range.String(), Status: statusOK}
		if err := dirWritable(filepath.Dir(sk.Path), false); err != nil {
			p.add(Problem{Status: statusNotWritable, Path: filepath.Dir(sk.Path), Message: err.Error()})
		}
		rep.Parts = append(rep.Parts, p)
	}
	if e := s.exec; e != nil {
		p := Part{Kind: "exec", Name: e.Command.String(), Position: cfg.Exec.Range.String(), Status: statusOK}
		checkCommand(&p, e.Command.Resolve()[0], e.Command.Shell != "")
		rep.Parts = append(rep.Parts, p)
	}
	if s.auth != nil && o.Token == "" {
		rep.Notes = append(rep.Notes, authNotes(s.auth)...)
	}
	return rep, nil
}

// preflightAuth builds the login: o.Token, else the configuration's auth
// method, else VAULT_TOKEN. A login that would use up or change a
// credential the agent needs later is refused: the user gives -token.
func preflightAuth(s *settings, o PreflightOptions, log *slog.Logger) (auth.Options, string, error) {
	ao := auth.Options{Logger: log}
	switch {
	case o.Token != "":
		ao.Static = auth.StaticToken(o.Token)
		return ao, "-token", nil
	case s.auth == nil && s.staticToken != "":
		ao.Static = auth.StaticToken(s.staticToken)
		return ao, "VAULT_TOKEN", nil
	case s.auth == nil:
		return ao, "", errors.New("the configuration has no auto_auth block and VAULT_TOKEN is not set: give -token")
	}
	m := s.auth.method
	if a := m.AppRole; a != nil {
		if a.SecretIDResponseWrappingPath != "" {
			return ao, "", errors.New("auto_auth: the approle secret_id is response-wrapped; unwrapping it would use it up before the agent starts: give -token instead")
		}
		c := *a
		c.RemoveSecretIDFileAfterReading = false // the check removes no file
		m.AppRole = &c
	}
	if j := m.JWT; j != nil {
		c := *j
		c.RemoveJWTAfterReading = false
		m.JWT = &c
	}
	if l := m.LDAP; l != nil {
		c := *l
		c.RemovePasswordAfterReading = false // the agent's own login needs the file
		m.LDAP = &c
	}
	if a := m.AWS; a != nil && a.Type == "ec2" && a.Nonce == "" {
		return ao, "", errors.New("auto_auth: an aws ec2 login without a nonce in the configuration registers a new nonce, and the agent's own login would then be refused: give -token instead")
	}
	meth, err := auth.NewMethod(m, s.vault, log)
	if err != nil {
		return ao, "", err
	}
	ao.Method, ao.Namespace = meth, s.auth.namespace
	return ao, fmt.Sprintf("the %s method at %s", m.Type, m.MountPath), nil
}

// authNotes says what a login with the configuration's method may have
// changed or could not check.
func authNotes(a *authSettings) []string {
	var out []string
	if a.method.Type == "approle" {
		out = append(out, "an approle login counts against the secret_id's secret_id_num_uses, if the role limits them")
	}
	if a.wrapTTL > 0 {
		out = append(out, "the method's wrap_ttl was not used: the check logged in without response wrapping")
	}
	return out
}

// judge turns a dry run's result into p's verdict; every message is
// redacted with set.
func (r *resolver) judge(p *Part, res template.DryResult, set *redact.Set) {
	keys := make([]string, 0, len(res.SecretErrs))
	for k := range res.SecretErrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		err := res.SecretErrs[k]
		pr := Problem{Status: statusVaultError, Message: oneLine(set.Redact(err.Error()))}
		var sp *secretProblem
		if errors.As(err, &sp) {
			pr.Status, pr.Path, pr.Capability = sp.status, sp.path, sp.capability
		}
		p.add(pr)
	}
	if res.Err != nil {
		pr := Problem{Status: statusTemplateError, Message: oneLine(set.Redact(res.Err.Error()))}
		var te *template.Error
		if errors.As(res.Err, &te) {
			pr.Line, pr.Col = te.Line, te.Col
		}
		switch {
		case res.MissingKey != "":
			pr.Status, pr.Key = statusMissingKey, res.MissingKey
		case res.Uncertain:
			pr.Status = statusUncertain
			p.Warnings = append(p.Warnings, "the template failed with placeholder values; it may work with the real secrets")
		}
		p.add(pr)
	}
	if res.UnsetKey != "" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("key %q is missing from a secret: it renders as \"<no value>\" (set error_on_missing_key to make this an error)", res.UnsetKey))
	}
	for _, k := range res.Placeholders {
		if n := r.notes[k]; n != "" {
			p.NotChecked = append(p.NotChecked, n)
		}
	}
	p.NotChecked = append(p.NotChecked, res.NotRun...)
}

// checkDestination checks that the template's file could be written: its
// directory exists (or create_dest_dirs may make it) and is writable.
func checkDestination(p *Part, t template.Spec) {
	if t.Destination == "" {
		return
	}
	dir := filepath.Dir(t.Destination)
	if err := dirWritable(dir, t.CreateDestDirs); err != nil {
		p.add(Problem{Status: statusNotWritable, Path: dir, Message: err.Error()})
	}
}

// dirWritable reports why files could not be created in dir: it is
// missing (and may not be created), not a directory, or not writable by
// this process. With create, a missing dir is fine if its nearest
// existing ancestor is writable. Nothing is written.
func dirWritable(dir string, create bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) && create {
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("%s does not exist", dir)
		}
		return dirWritable(parent, true)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := mayWriteIn(dir); err != nil {
		return fmt.Errorf("%s is not writable by this user: %v", dir, err)
	}
	return nil
}

// checkCommand checks that a command's program can be found, as the
// agent would start it (PATH is this process's). A shell command's own
// programs are not checked.
func checkCommand(p *Part, prog string, shell bool) {
	if _, err := exec.LookPath(prog); err != nil {
		p.add(Problem{Status: statusNotFound, Path: prog, Message: fmt.Sprintf("command %s not found: %v", prog, errors.Unwrap(err))})
	}
	if shell {
		p.NotChecked = append(p.NotChecked, "the programs a shell command runs")
	}
}
