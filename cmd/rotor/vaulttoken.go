package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rotorproject/rotor/internal/vaultclient"
)

// The Vault CLI's defaults: its address, and its client's retries on 412,
// 5xx and connection errors (VAULT_MAX_RETRIES changes them).
const (
	vaultCLIAddress = "https://127.0.0.1:8200"
	vaultCLIRetries = 2
)

// vaultConn holds the Vault CLI's connection flags; each falls back to its
// environment variable, then to the CLI's default.
type vaultConn struct {
	address, caCert, caPath, clientCert, clientKey, serverName, namespace string
	skipVerify                                                            string // "" unless -tls-skip-verify was given
}

func vaultConnFlags(fs *flag.FlagSet) *vaultConn {
	c := &vaultConn{}
	fs.StringVar(&c.address, "address", "", "Vault's address (default $VAULT_ADDR, then "+vaultCLIAddress+")")
	fs.StringVar(&c.caCert, "ca-cert", "", "CA certificate file (default $VAULT_CACERT)")
	fs.StringVar(&c.caPath, "ca-path", "", "directory of CA certificates (default $VAULT_CAPATH)")
	fs.StringVar(&c.clientCert, "client-cert", "", "TLS client certificate (default $VAULT_CLIENT_CERT)")
	fs.StringVar(&c.clientKey, "client-key", "", "TLS client key (default $VAULT_CLIENT_KEY)")
	fs.StringVar(&c.serverName, "tls-server-name", "", "server name for TLS (default $VAULT_TLS_SERVER_NAME)")
	fs.StringVar(&c.namespace, "namespace", "", "namespace (default $VAULT_NAMESPACE)")
	fs.StringVar(&c.namespace, "ns", "", "alias of -namespace")
	fs.BoolFunc("tls-skip-verify", "do not verify Vault's certificate (default $VAULT_SKIP_VERIFY)", func(v string) error {
		if _, err := strconv.ParseBool(v); err != nil {
			return err
		}
		c.skipVerify = v
		return nil
	})
	return c
}

// config resolves the flags against the environment, as the Vault CLI
// does: flag, then variable, then default.
func (c *vaultConn) config() (vaultclient.Config, error) {
	v := vaultclient.Config{
		Address:       orDefault(envDefault(c.address, "VAULT_ADDR"), vaultCLIAddress),
		CACert:        envDefault(c.caCert, "VAULT_CACERT"),
		CAPath:        envDefault(c.caPath, "VAULT_CAPATH"),
		ClientCert:    envDefault(c.clientCert, "VAULT_CLIENT_CERT"),
		ClientKey:     envDefault(c.clientKey, "VAULT_CLIENT_KEY"),
		TLSServerName: envDefault(c.serverName, "VAULT_TLS_SERVER_NAME"),
		Namespace:     envDefault(c.namespace, "VAULT_NAMESPACE"),
		NumRetries:    vaultCLIRetries,
	}
	if s := envDefault(c.skipVerify, "VAULT_SKIP_VERIFY"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return v, fmt.Errorf("could not parse VAULT_SKIP_VERIFY %q", s)
		}
		v.TLSSkipVerify = b
	}
	return v, nil
}

// vaultTokenRevoke is `vault token revoke -self`: it revokes the token the
// Vault CLI would use (VAULT_TOKEN, else the token helper's file
// ~/.vault-token, which in the injector's container is the agent's sink)
// and prints what the CLI prints. Revoking another token, by value or
// accessor, is left to the real CLI.
func vaultTokenRevoke(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vault token revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "\nOnly these flags of \"vault token revoke\" are understood here:")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+vaultUsage)
	}
	self := fs.Bool("self", false, "revoke the token in use (VAULT_TOKEN, else ~/.vault-token)")
	conn := vaultConnFlags(fs)
	if err := parseQuiet(fs, args, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitVaultLocal
	}
	if !*self || fs.NArg() > 0 {
		// The argument may be a token: never repeat it.
		fmt.Fprintf(stderr, "vault token revoke: only \"vault token revoke -self\" is answered here; revoking a token by value or accessor needs the real Vault CLI.\n\n%s", vaultUsage)
		return exitVaultLocal
	}
	vc, err := conn.config()
	if err != nil {
		fmt.Fprintf(stderr, "Error revoking token: %v\n", err)
		return exitVaultLocal
	}
	token, where, err := cliToken()
	if err != nil {
		fmt.Fprintf(stderr, "Error revoking token: %v\n", err)
		return exitVaultLocal
	}
	if token == "" {
		fmt.Fprintf(stderr, "Error revoking token: no token to revoke: VAULT_TOKEN is not set and %s does not exist\n", where)
		return exitVaultRemote
	}
	client, err := vaultclient.New(vc, vaultclient.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "Error revoking token: %v\n", err)
		return exitVaultLocal
	}
	client.SetToken(token)
	if err := client.Auth().Token().RevokeSelf(""); err != nil {
		fmt.Fprintf(stderr, "Error revoking token: %v\n", err)
		return exitVaultRemote
	}
	fmt.Fprintln(stdout, "Success! Revoked token (if it existed)")
	return exitOK
}

// cliToken finds the token the Vault CLI would use: VAULT_TOKEN, else the
// default token helper's file, .vault-token in the home directory ($HOME,
// else the user's entry in /etc/passwd). where names that file. A missing
// file is no token, not an error.
func cliToken() (token, where string, err error) {
	if t := os.Getenv("VAULT_TOKEN"); t != "" {
		return t, "VAULT_TOKEN", nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		u, uerr := user.Current()
		if uerr != nil || u.HomeDir == "" {
			return "", "", fmt.Errorf("VAULT_TOKEN is not set and there is no home directory for ~/.vault-token: set HOME")
		}
		home = u.HomeDir
	}
	where = filepath.Join(home, ".vault-token")
	b, err := os.ReadFile(where)
	if errors.Is(err, fs.ErrNotExist) {
		return "", where, nil
	}
	if err != nil {
		return "", where, fmt.Errorf("reading the token: %w", err)
	}
	return strings.TrimSpace(string(b)), where, nil
}
