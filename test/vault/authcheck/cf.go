package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	cfplugin "github.com/hashicorp/vault-plugin-auth-cf"
	"github.com/hashicorp/vault-plugin-auth-cf/models"
	"github.com/hashicorp/vault-plugin-auth-cf/signatures"
	"github.com/hashicorp/vault-plugin-auth-cf/util"
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/cf"
)

func init() {
	methods["cf"] = func(conf *auth.AuthConfig, _ string) (auth.AuthMethod, error) {
		return cf.NewCFAuthMethod(conf)
	}
	verifiers["cf"] = verifyCF
}

// verifyCF checks a cf login body (the JSON file args[0]) as Vault's cf
// plugin does at login, with its own code: the signing time parses and is
// within maxAge of now, the signature verifies against a certificate of
// the presented file for that time, role and file, the file holds an
// identity and an intermediate certificate, the signer is the identity
// certificate, it chains to the CA in args[1], and it carries CF's
// identity fields.
//
//	authcheck verify-cf BODY.json CA.pem [MAX_AGE]
func verifyCF(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: authcheck verify-cf BODY.json CA.pem [MAX_AGE]")
	}
	maxAge := 5 * time.Minute
	if len(args) > 2 {
		d, err := time.ParseDuration(args[2])
		if err != nil {
			return err
		}
		maxAge = d
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var body struct {
		Role           string `json:"role"`
		CFInstanceCert string `json:"cf_instance_cert"`
		SigningTime    string `json:"signing_time"`
		Signature      string `json:"signature"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return err
	}
	ca, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	at, err := time.Parse(signatures.TimeFormat, body.SigningTime)
	if err != nil {
		return fmt.Errorf("signing_time: %v", err)
	}
	if age := time.Since(at); age > maxAge || age < -maxAge {
		return fmt.Errorf("signing_time %s is %v away from now", body.SigningTime, age)
	}
	intermediate, identity, err := util.ExtractCertificates(body.CFInstanceCert)
	if err != nil {
		return err
	}
	signer, err := signatures.Verify(body.Signature, &signatures.SignatureData{SigningTime: at, Role: body.Role, CFInstanceCertContents: body.CFInstanceCert})
	if err != nil {
		return err
	}
	if err := util.Validate([]string{string(ca)}, intermediate, identity, signer); err != nil {
		return err
	}
	if _, err := models.NewCFCertificateFromx509(signer); err != nil {
		return err
	}
	return nil
}

// The environment variables the cf method reads, named by the plugin.
var _ = []string{cfplugin.EnvVarInstanceCertificate, cfplugin.EnvVarInstanceKey}
