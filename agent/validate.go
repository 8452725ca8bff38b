package agent

import (
	"os"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/supervise"
	"github.com/rotorproject/rotor/template"
)

// Validate checks what the configuration loader cannot: that every
// template and env_template parses, names known functions and gives them
// a possible number of arguments. It never executes a template, runs a
// command, writes a file or contacts Vault, so validating an untrusted
// configuration is safe. A template whose source file does not exist on
// this machine is skipped (config.Warnings names it: the file may exist
// only where rotor runs). It returns one problem per template that does
// not parse, and warnings (e.g. a template calling plugin).
func Validate(cfg *config.Config) (problems, warnings []string) {
	s := translate(cfg)
	add := func(w []string, err error) {
		warnings = append(warnings, w...)
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	add(nil, checkWrapped(s))
	for _, t := range s.templates {
		if t.Source != "" {
			if _, err := os.Stat(t.Source); err != nil {
				continue
			}
		}
		add(template.Check(t))
	}
	for _, e := range s.envs {
		add(template.CheckEnv(e))
	}
	return problems, warnings
}

// ExitCode reports whether err is the supervised child's own exit (rotor
// then exits with the same code), and that code.
func ExitCode(err error) (int, bool) { return supervise.IsExit(err) }
