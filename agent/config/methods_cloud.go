package config

import (
	"encoding/json"
	"time"
)

// This file decodes the cloud auth methods' config maps: gcp, azure and
// alicloud, with Vault Agent 1.21's keys and rules.

// GCP is the gcp method's config map.
type GCP struct {
	Type           string // "gce" or "iam"
	Role           string
	Credentials    Secret        // iam: a service-account key's JSON
	ServiceAccount string        // default "default" (gce: the instance's account; iam: the credentials' account)
	JWTExp         time.Duration // iam: jwt_exp minutes; 0: the default, 15m
}

// Azure is the azure method's config map.
type Azure struct {
	Role                        string
	Resource                    string
	ObjectID                    string
	ClientID                    string
	Scope                       string // default Resource + "/.default"
	AuthenticateFromEnvironment bool
}

// AliCloud is the alicloud method's config map.
type AliCloud struct {
	Role         string
	Region       string
	AccessKey    Secret
	AccessSecret Secret
	AccessToken  Secret
	RoleName     string
}

var gcpKeys = spec{known: []string{"type", "role", "credentials", "service_account", "jwt_exp"}, ignored: map[string]string{
	"project": "Vault Agent accepts it and does not use it (the project comes with the credentials)",
}}

var azureKeys = spec{known: []string{"role", "resource", "object_id", "client_id", "scope", "authenticate_from_environment"}}

var aliCloudKeys = spec{known: []string{"role", "region", "access_key", "access_secret", "access_token", "role_name",
	"credential_poll_interval", "role_arn", "role_session_name", "role_session_expiration", "private_key", "public_key_id", "session_expiration"}}

// aliCloudRefused are alicloud keys for credentials rotor does not
// support, and why.
var aliCloudRefused = map[string]string{
	"role_arn":                "assuming a RAM role by ARN calls STS AssumeRole, which rotor cannot test against a faithful fake; give the role session's keys (access_key, access_secret, access_token) or use the instance's RAM role (role_name)",
	"role_session_name":       "it goes with role_arn, which rotor does not support",
	"role_session_expiration": "it goes with role_arn, which rotor does not support",
	"private_key":             "an RSA key pair session calls GenerateSessionAccessKey, which rotor cannot test against a faithful fake; use access keys or the instance's RAM role",
	"public_key_id":           "it goes with private_key, which rotor does not support",
	"session_expiration":      "it goes with private_key, which rotor does not support",
}

func (c mcfg) gcp() *GCP {
	g := &GCP{ServiceAccount: "default"}
	c.required("type", &g.Type)
	c.required("role", &g.Role)
	if g.Type != "" && g.Type != "gce" && g.Type != "iam" {
		c.d.ds.errorf(c.b.one("type").vpos, "Invalid value", "%s: type %q: use \"gce\" or \"iam\".", c.where, g.Type)
	}
	c.secret("credentials", &g.Credentials)
	if a := c.b.one("credentials"); a != nil && g.Credentials != "" && !json.Valid([]byte(g.Credentials)) {
		c.d.ds.warnf(a.vpos, "Not JSON", "%s: credentials is not JSON: it must hold a service-account key's JSON content, not a path. "+
			"Vault Agent then falls back to application default credentials, and so does rotor; for a key file, set GOOGLE_APPLICATION_CREDENTIALS to its path.", c.where)
	}
	c.str("service_account", &g.ServiceAccount)
	if a := c.b.one("jwt_exp"); a != nil {
		var n int
		if c.d.strictInt(a, c.where, "jwt_exp", &n) {
			if n < 0 {
				c.d.ds.errorf(a.vpos, "Invalid value", "%s: jwt_exp is a number of minutes and must not be negative.", c.where)
			}
			g.JWTExp = time.Duration(n) * time.Minute
		}
		if g.Type == "gce" {
			c.d.ds.warnf(a.vpos, "Ignored", "%s: jwt_exp is used by type \"iam\" only; the gce identity token's life is Google's.", c.where)
		}
	}
	return g
}

func (c mcfg) azure() *Azure {
	a := &Azure{}
	c.required("role", &a.Role)
	c.required("resource", &a.Resource)
	c.str("object_id", &a.ObjectID)
	c.str("client_id", &a.ClientID)
	c.str("scope", &a.Scope)
	c.looseBool("authenticate_from_environment", &a.AuthenticateFromEnvironment)
	if a.ObjectID != "" && a.ClientID != "" {
		c.d.ds.errorf(c.b.one("client_id").vpos, "Conflicting options", "%s: set object_id or client_id, not both.", c.where)
	}
	return a
}

func (c mcfg) aliCloud() *AliCloud {
	a := &AliCloud{}
	c.required("role", &a.Role)
	c.required("region", &a.Region)
	c.secret("access_key", &a.AccessKey)
	c.secret("access_secret", &a.AccessSecret)
	c.secret("access_token", &a.AccessToken)
	c.str("role_name", &a.RoleName)
	if (a.AccessKey == "") != (a.AccessSecret == "") {
		at := c.b.one("access_key")
		if at == nil {
			at = c.b.one("access_secret")
		}
		c.d.ds.warnf(at.vpos, "Ignored", "%s: access_key and access_secret go together; with one alone Vault Agent ignores both, and so does rotor.", c.where)
		a.AccessKey, a.AccessSecret, a.AccessToken = "", "", ""
	}
	if it := c.b.one("credential_poll_interval"); it != nil {
		var n int
		if c.d.mapInt(it, c.where, "credential_poll_interval", &n) && n <= 0 {
			c.d.ds.errorf(it.vpos, "Invalid value", "%s: credential_poll_interval must be a positive number of seconds.", c.where)
		}
	}
	for _, k := range aliCloudKeys.known {
		if why, refused := aliCloudRefused[k]; refused && c.b.has(k) {
			c.d.ds.errorf(c.b.one(k).pos, "Unsupported option", "%s: %s is not supported by rotor: %s.", c.where, k, why)
		}
	}
	return a
}
