package awscred

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// IMDS reads the EC2 instance metadata service. It uses IMDSv2 (a session
// token from a PUT, sent with every GET).
type IMDS struct {
	endpoint   string
	client     *http.Client
	v1Disabled bool
	now        func() time.Time

	token    string
	tokenExp time.Time
}

// tokenTTL is the IMDSv2 session token's life, the SDKs' value (6 hours).
const tokenTTL = 6 * time.Hour

// NewIMDS returns a client of the endpoint the SDKs use: 169.254.169.254,
// or AWS_EC2_METADATA_SERVICE_ENDPOINT, or the IPv6 address with
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6.
func NewIMDS(env Env, client *http.Client) *IMDS {
	ep := env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	if ep == "" {
		ep = "http://169.254.169.254"
		if strings.EqualFold(env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"), "IPv6") {
			ep = "http://[fd00:ec2::254]"
		}
	}
	return &IMDS{endpoint: strings.TrimSuffix(ep, "/"), client: client, now: time.Now,
		v1Disabled: strings.EqualFold(env.get("AWS_EC2_METADATA_V1_DISABLED"), "true")}
}

// errV1Fallback means the token request found no IMDSv2 (an old emulator
// answering 404/405, or the PUT's answer lost one hop away in a container
// whose instance limits IMDSv2 answers to one hop: a timeout after the
// connection opened): the SDKs then read without a token (IMDSv1), unless
// AWS_EC2_METADATA_V1_DISABLED is set. An instance that requires IMDSv2
// answers such reads 401, so nothing is weakened there.
var errV1Fallback = errors.New("IMDSv2 token unavailable")

// Get returns the content at path (e.g. "/latest/dynamic/instance-identity/document").
func (m *IMDS) Get(ctx context.Context, path string) ([]byte, error) {
	tok, err := m.sessionToken(ctx)
	if errors.Is(err, errV1Fallback) && !m.v1Disabled {
		tok, err = "", nil
	}
	if err != nil {
		return nil, err
	}
	b, status, err := m.get(ctx, path, tok)
	if status == http.StatusUnauthorized && tok != "" {
		// The token expired early (IMDS restarted): one more try with a new one.
		m.token = ""
		if tok, err = m.sessionToken(ctx); err != nil {
			return nil, err
		}
		b, status, err = m.get(ctx, path, tok)
	}
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("instance metadata %s: HTTP %d", path, status)
	}
	return b, nil
}

func (m *IMDS) sessionToken(ctx context.Context) (string, error) {
	if m.token != "" && m.now().Before(m.tokenExp) {
		return m.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.endpoint+"/latest/api/token", nil)
	if err != nil {
		return "", fmt.Errorf("instance metadata endpoint: %w", err)
	}
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", fmt.Sprint(int(tokenTTL.Seconds())))
	resp, err := m.client.Do(req)
	if err != nil {
		// Only a connection that opened and then got no answer is the
		// container case; one that could not even open means no IMDS here.
		var ne net.Error
		var op *net.OpError
		dial := errors.As(err, &op) && op.Op == "dial"
		if errors.As(err, &ne) && ne.Timeout() && !dial && ctx.Err() == nil {
			return "", fmt.Errorf("%w: %v", errV1Fallback, err)
		}
		return "", fmt.Errorf("instance metadata at %s: %w", m.endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	switch {
	case err != nil:
		return "", fmt.Errorf("instance metadata token: %w", err)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return "", fmt.Errorf("%w: HTTP %d", errV1Fallback, resp.StatusCode)
	case resp.StatusCode == http.StatusForbidden:
		return "", errors.New("instance metadata: the token request was refused (HTTP 403): IMDS is disabled on this instance")
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("instance metadata token: HTTP %d", resp.StatusCode)
	}
	// Renew a minute early: a token must not expire between two reads.
	m.token, m.tokenExp = strings.TrimSpace(string(b)), m.now().Add(tokenTTL-time.Minute)
	return m.token, nil
}

func (m *IMDS) get(ctx context.Context, path, tok string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+path, nil)
	if err != nil {
		return nil, 0, err
	}
	if tok != "" {
		req.Header.Set("X-Aws-Ec2-Metadata-Token", tok)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("instance metadata at %s: %w", m.endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return b, resp.StatusCode, err
}
