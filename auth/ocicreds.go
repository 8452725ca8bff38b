package auth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"regexp"
	"strings"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// ociCreds finds an OCI API key and its key ID where Vault Agent's oci
// method (through OCI's Go SDK) looks, in this order, each piece from the
// first place that has it:
//
//  1. environment: OCI_tenancy_ocid, OCI_user_ocid, OCI_fingerprint and
//     OCI_private_key_path (an unencrypted key: the SDK passes no
//     passphrase here);
//  2. the DEFAULT profile of ~/.oci/config, or of $OCI_CONFIG_FILE when
//     ~/.oci/config does not exist: tenancy, user, fingerprint, key_file,
//     pass_phrase (or security_token_file instead of user);
//  3. the DEFAULT profile of ~/.oraclebmc/config.
//
// The key ID is "<tenancy>/<user>/<fingerprint>", or "ST$<token>" for a
// session token file.
type ociCreds struct {
	env  func(string) (string, bool)
	home func() string
}

// homeDir is the user's home as the SDK finds it.
func homeDir() string {
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	h, _ := os.UserHomeDir()
	return h
}

// ociSource is one place credentials may come from.
type ociSource interface {
	keyID() (string, error)
	privateKey() (*rsa.PrivateKey, error)
}

func (c ociCreds) sources() []ociSource {
	home := c.home()
	primary := path.Join(home, ".oci", "config")
	if _, err := os.Stat(primary); err != nil {
		if alt, ok := c.env("OCI_CONFIG_FILE"); ok {
			if _, err := os.Stat(alt); err == nil {
				primary = alt
			}
		}
	}
	return []ociSource{ociEnv{c.env, home}, ociFile{primary, home}, ociFile{path.Join(home, ".oraclebmc", "config"), home}}
}

func (c ociCreds) keyID() (string, error) {
	var why []string
	for _, s := range c.sources() {
		id, err := s.keyID()
		if err == nil {
			return id, nil
		}
		why = append(why, err.Error())
	}
	return "", fmt.Errorf("no OCI key ID (tenancy, user and fingerprint) found: %s", strings.Join(why, "; "))
}

func (c ociCreds) privateKey() (*rsa.PrivateKey, error) {
	var why []string
	for _, s := range c.sources() {
		k, err := s.privateKey()
		if err == nil {
			return k, nil
		}
		why = append(why, err.Error())
	}
	return nil, fmt.Errorf("no OCI API key found: %s", strings.Join(why, "; "))
}

// ociEnv is the environment source.
type ociEnv struct {
	env  func(string) (string, bool)
	home string
}

func (e ociEnv) keyID() (string, error) {
	var parts []string
	for _, k := range []string{"OCI_tenancy_ocid", "OCI_user_ocid", "OCI_fingerprint"} {
		v, ok := e.env(k)
		if !ok {
			return "", fmt.Errorf("%s is not set", k)
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, "/"), nil
}

func (e ociEnv) privateKey() (*rsa.PrivateKey, error) {
	p, ok := e.env("OCI_private_key_path")
	if !ok {
		return nil, errors.New("OCI_private_key_path is not set")
	}
	return readOCIKey(ociExpand(p, e.home), "")
}

// ociFile is a config file's DEFAULT profile.
type ociFile struct {
	path, home string
}

// ociProfile is what a profile says; has tells the keys present.
type ociProfile struct {
	vals map[string]string
}

func (p ociProfile) has(k string) bool { _, ok := p.vals[k]; return ok }

var ociProfileLine = regexp.MustCompile(`^\[(.*)\]`)

// read parses the file as the SDK does: the lines after "[DEFAULT]" up to
// the next "[...]"; on each line with "=", the key is the text before the
// first "=" and the value the text between it and the next "=", both
// trimmed; keys are case-insensitive.
func (f ociFile) read() (ociProfile, error) {
	b, err := atomicfile.ReadRegular(ociExpand(f.path, f.home), maxCredentialBytes)
	if err != nil {
		return ociProfile{}, fmt.Errorf("config file %s: %v", f.path, unwrapPath(err))
	}
	if len(b) == 0 {
		return ociProfile{}, fmt.Errorf("config file %s is empty", f.path)
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		if m := ociProfileLine.FindStringSubmatch(line); m == nil || m[1] != "DEFAULT" {
			continue
		}
		p := ociProfile{vals: map[string]string{}}
		for _, l := range lines[i+1:] {
			if ociProfileLine.MatchString(l) {
				break
			}
			kv := strings.Split(l, "=")
			if len(kv) < 2 {
				continue
			}
			k := strings.ToLower(strings.TrimSpace(kv[0]))
			if k == "pass_phrase" {
				k = "passphrase"
			}
			p.vals[k] = strings.TrimSpace(kv[1])
		}
		return p, nil
	}
	return ociProfile{}, fmt.Errorf("config file %s has no [DEFAULT] profile", f.path)
}

func (f ociFile) keyID() (string, error) {
	p, err := f.read()
	if err != nil {
		return "", err
	}
	if p.has("user") {
		// As the SDK: a missing tenancy or fingerprint is left empty.
		return p.vals["tenancy"] + "/" + p.vals["user"] + "/" + p.vals["fingerprint"], nil
	}
	if p.has("security_token_file") {
		tok, err := atomicfile.ReadRegular(ociExpand(p.vals["security_token_file"], f.home), maxCredentialBytes)
		if err != nil {
			return "", fmt.Errorf("security_token_file of %s: %v", f.path, unwrapPath(err))
		}
		return "ST$" + string(tok), nil
	}
	return "", fmt.Errorf("config file %s names no user (nor security_token_file)", f.path)
}

func (f ociFile) privateKey() (*rsa.PrivateKey, error) {
	p, err := f.read()
	if err != nil {
		return nil, err
	}
	if !p.has("key_file") {
		return nil, fmt.Errorf("config file %s has no key_file", f.path)
	}
	return readOCIKey(ociExpand(p.vals["key_file"], f.home), p.vals["passphrase"])
}

// ociExpand cleans p and replaces a leading "~/" with home, as the SDK.
func ociExpand(p, home string) string {
	p = path.Clean(p)
	if strings.HasPrefix(p, "~") && len(p) >= 2 {
		return path.Join(home, p[2:])
	}
	return p
}

// readOCIKey reads an RSA key in PEM, PKCS#1 or PKCS#8, decrypting a
// legacy encrypted PEM block with passphrase. Errors never quote the file.
func readOCIKey(file, passphrase string) (*rsa.PrivateKey, error) {
	b, err := atomicfile.ReadRegular(file, maxCredentialBytes)
	if err != nil {
		return nil, fmt.Errorf("API key %s: %v", file, unwrapPath(err))
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("API key %s holds no PEM block", file)
	}
	der := block.Bytes
	//lint:ignore SA1019 OCI's key files use legacy PEM encryption, which the OCI SDK reads the same way
	if x509.IsEncryptedPEMBlock(block) {
		//lint:ignore SA1019 see above
		if der, err = x509.DecryptPEMBlock(block, []byte(passphrase)); err != nil {
			return nil, fmt.Errorf("API key %s: decrypt with the pass_phrase: %v", file, err)
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("API key %s is not an RSA key", file)
	}
	return nil, fmt.Errorf("API key %s is neither a PKCS#1 nor a PKCS#8 key", file)
}
