package awstest

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The STS request limits the fake enforces, from the STS API reference,
// with STS's own messages, so that a test sees a request AWS would refuse
// refused here too.

// stsNamePattern is what RoleSessionName and GetFederationToken's Name may
// hold: [\w+=,.@-]*.
var stsNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)

// minSTSDuration is the shortest DurationSeconds STS accepts.
const minSTSDuration = 900 * time.Second

// constraint is STS's answer to a parameter that breaks its limits.
func constraint(field, value, rule string) *apiError {
	return validationError("1 validation error detected: Value '" + value + "' at '" + field +
		"' failed to satisfy constraint: Member must " + rule)
}

// checkName checks a RoleSessionName or a federated user's Name: 2 to max
// characters of stsNamePattern.
func checkName(field, name string, max int) *apiError {
	switch {
	case len(name) < 2:
		return constraint(field, name, "have length greater than or equal to 2")
	case len(name) > max:
		return constraint(field, name, "have length less than or equal to "+strconv.Itoa(max))
	case !stsNamePattern.MatchString(name):
		return constraint(field, name, `satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	return nil
}

// checkDuration checks DurationSeconds, when present: 900 seconds to max
// (12 hours for AssumeRole, as the fake's roles allow the most AWS does;
// 36 hours for GetFederationToken and GetSessionToken).
func checkDuration(form url.Values, max time.Duration) *apiError {
	s := form.Get("DurationSeconds")
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return constraint("durationSeconds", s, "be an integer")
	case time.Duration(n)*time.Second < minSTSDuration:
		return constraint("durationSeconds", s, "have value greater than or equal to 900")
	case time.Duration(n)*time.Second > max:
		return constraint("durationSeconds", s, "have value less than or equal to "+strconv.Itoa(int(max.Seconds())))
	}
	return nil
}

// packedPolicySize is the PackedPolicySize STS reports when a request has
// session policies: how close they come to the packed limit, in percent.
// STS compresses them; the fake estimates with their plain length against
// 2,048 characters. Zero (not sent) without session policies.
func packedPolicySize(form url.Values) int {
	n := len(form.Get("Policy"))
	for k, vs := range form {
		if strings.HasPrefix(k, "PolicyArns.member.") {
			n += len(strings.Join(vs, ""))
		}
	}
	if n == 0 {
		return 0
	}
	return min(100, max(1, n*100/2048))
}

// issueFor is issue for a signed request: the session records its caller.
func (f *FakeAWS) issueFor(caller *principal, action, roleARN, session string, form url.Values, arn, userID string) (xmlCredentials, *apiError) {
	c, aerr := f.issue(action, roleARN, session, form, arn, userID)
	if aerr == nil {
		f.sessions[len(f.sessions)-1].CallerARN = caller.arn
	}
	return c, aerr
}

// ShortenSTSLifetime makes every temporary credential the fake issues from
// now on (AssumeRole, GetFederationToken, GetSessionToken,
// AssumeRoleWithWebIdentity, instance profiles) expire after d at most,
// whatever DurationSeconds asked for, and say so in its Expiration; the
// fake then refuses the key after that time (ExpiredToken). 0 restores
// the lifetimes asked for.
//
// Real STS never shortens a session. This is a clock compression for
// tests: Vault's AWS SDK cannot ask for less than 15 minutes, and Vault
// sets an STS lease's TTL from the Expiration STS returns, so this is the
// one way a test sees a non-renewable AWS lease end, and rotor replace it,
// in seconds. STSSession.Duration still records what was asked.
func (f *FakeAWS) ShortenSTSLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stsLifetime = d
}
