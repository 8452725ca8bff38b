package agent

import (
	"os"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/supervise"
	"github.com/rotorproject/rotor/template"
)

// Validate checks what the configuration loader cannot: that every
// template and env_template parses and names known functions. It never
// executes a template, runs a command, writes a file or contacts Vault, so
// validating an untrusted configuration is safe. A template whose source
// file does not exist on this machine is skipped (config.Warnings names
// it: the file may exist only where rotor runs). It returns one problem
// per template that does not parse.
func Validate(cfg *config.Config) []string {
	s := translate(cfg)
	var problems []string
	for _, t := range s.templates {
		if t.Source != "" {
			if _, err := os.Stat(t.Source); err != nil {
				continue
			}
		}
		if err := template.Check(t); err != nil {
			problems = append(problems, err.Error())
		}
	}
	for _, e := range s.envs {
		if err := template.CheckEnv(e); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

// ExitCode reports whether err is the supervised child's own exit (rotor
// then exits with the same code), and that code.
func ExitCode(err error) (int, bool) { return supervise.IsExit(err) }
