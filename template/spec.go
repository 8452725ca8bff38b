package template

import (
	"os"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/lease"
)

// Spec is one file template: where its text comes from, where it is
// written, and how it is written and reloaded. The agent builds it from a
// template block, defaults already applied.
type Spec struct {
	Source            string // template file (read at New), or
	Contents          string // the template inline
	Destination       string
	Perms             os.FileMode
	Owner             atomicfile.Owner
	CreateDestDirs    bool
	Backup            bool
	Command           command.Command // reload command, run once per group change
	CommandTimeout    time.Duration   // 0: DefaultCommandTimeout
	ErrorOnMissingKey bool
	LeftDelim         string
	RightDelim        string
	SandboxPath       string        // the file function reads only below it
	WaitMin, WaitMax  time.Duration // wait { min, max }
	// RevokeOnShutdown, if set, overrides the agent's revoke_on_shutdown
	// for the secrets this template uses.
	RevokeOnShutdown *bool
	// FunctionDenylist names functions (globs such as "sprig_*") the
	// template may not call: they fail with "function is disabled".
	FunctionDenylist []string
	// MaxBytes caps the rendered output and each file the file function
	// reads (0: DefaultMaxBytes).
	MaxBytes int64
	// Renewal is the template's own lease_renewal_threshold and
	// static_secret_render_interval; a zero field takes the global value
	// (Options.Policy). Secrets shared with other templates follow the
	// most eager policy among them (lease.Store.Prefer).
	Renewal lease.Policy
	// Confirm, if set, checks that the consumer uses each publish
	// (template confirm {}); nil: rotor stops at the reload command.
	Confirm *Confirm
	// PermsUnset says perms was not configured (Perms is then the
	// default): validate warns when such a template renders a private
	// key or a password.
	PermsUnset bool
}

// DefaultMaxBytes caps a rendered template: a template that loops over a
// huge secret must not exhaust memory or fill the disk.
const DefaultMaxBytes = 16 << 20

// EnvSpec is one env_template: a variable of the supervised child's
// environment. Its value never touches disk.
type EnvSpec struct {
	Name              string
	Source            string
	Contents          string
	ErrorOnMissingKey bool
	LeftDelim         string
	RightDelim        string
	FunctionDenylist  []string
}

// DefaultCommandTimeout bounds a reload command with no timeout set.
const DefaultCommandTimeout = 30 * time.Second

// spec turns an env template into the Spec the runner executes.
func (e EnvSpec) spec() *Spec {
	return &Spec{Source: e.Source, Contents: e.Contents, ErrorOnMissingKey: e.ErrorOnMissingKey, LeftDelim: e.LeftDelim,
		RightDelim: e.RightDelim, FunctionDenylist: e.FunctionDenylist}
}
