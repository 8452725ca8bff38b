package lease

import (
	"time"

	"github.com/hashicorp/vault/api"
)

// Value is what a template sees of a secret: Secret for reads and
// writes, List for lists. A Value and what it points to are never changed
// once handed out: the store replaces them whole, so templates may read
// them without a lock.
type Value struct {
	Secret *Secret
	List   []string
}

// Secret is one answer from Vault, in rotor's own terms. The JSON names
// are those of rotor's state file.
type Secret struct {
	RequestID     string          `json:"request_id,omitempty"`
	LeaseID       string          `json:"lease_id,omitempty"`
	LeaseDuration int             `json:"lease_duration"` // seconds
	Renewable     bool            `json:"renewable,omitempty"`
	Data          map[string]any  `json:"data"`
	Warnings      []string        `json:"warnings,omitempty"`
	Auth          *SecretAuth     `json:"auth,omitempty"`
	WrapInfo      *SecretWrapInfo `json:"wrap_info,omitempty"`
}

// SecretAuth is the token an answer carries (e.g. a token/create write).
type SecretAuth struct {
	ClientToken   string            `json:"client_token"`
	Accessor      string            `json:"accessor,omitempty"`
	Policies      []string          `json:"policies,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	LeaseDuration int               `json:"lease_duration"` // seconds
	Renewable     bool              `json:"renewable,omitempty"`
}

// SecretWrapInfo describes a response-wrapped answer.
type SecretWrapInfo struct {
	Token           string    `json:"token"`
	TTL             int       `json:"ttl"` // seconds
	CreationTime    time.Time `json:"creation_time"`
	WrappedAccessor string    `json:"wrapped_accessor,omitempty"`
}

// fromAPI converts the Vault client's answer.
func fromAPI(s *api.Secret) *Secret {
	out := &Secret{
		RequestID:     s.RequestID,
		LeaseID:       s.LeaseID,
		LeaseDuration: s.LeaseDuration,
		Renewable:     s.Renewable,
		Data:          s.Data,
		Warnings:      s.Warnings,
	}
	if a := s.Auth; a != nil {
		out.Auth = &SecretAuth{ClientToken: a.ClientToken, Accessor: a.Accessor, Policies: a.Policies,
			Metadata: a.Metadata, LeaseDuration: a.LeaseDuration, Renewable: a.Renewable}
	}
	if w := s.WrapInfo; w != nil {
		out.WrapInfo = &SecretWrapInfo{Token: w.Token, TTL: w.TTL, CreationTime: w.CreationTime, WrappedAccessor: w.WrappedAccessor}
	}
	return out
}

// withLeaseDuration returns a copy of s with a new lease duration (after
// a renewal): s itself may be in use by a template.
func (s *Secret) withLeaseDuration(secs int) *Secret {
	c := *s
	c.LeaseDuration = secs
	return &c
}
