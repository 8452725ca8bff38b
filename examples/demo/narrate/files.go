package main

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// statusClient reads lease expiry times from rotor's local API.
type statusClient struct {
	base string
	http *http.Client
}

func newStatusClient(base string) *statusClient {
	return &statusClient{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: 2 * time.Second}}
}

// expiresIn is how long until the first lease whose path starts with
// prefix ends, or "?" when rotor does not say.
func (c *statusClient) expiresIn(prefix string) string {
	if c.base == "" || prefix == "" {
		return "?"
	}
	resp, err := c.http.Get(c.base + "/agent/v1/status")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var st struct {
		Leases []struct {
			Path    string    `json:"path"`
			Expires time.Time `json:"expires"`
		} `json:"leases"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "?"
	}
	for _, l := range st.Leases {
		if strings.HasPrefix(l.Path, prefix) && !l.Expires.IsZero() {
			return time.Until(l.Expires).Round(time.Second).String()
		}
	}
	return "?"
}

// dbUser reads the PGUSER= line of a credentials file, and nothing else.
func dbUser(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(unreadable)"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "PGUSER="); ok {
			return u
		}
	}
	return "(no PGUSER line)"
}

// describeFile says what a rendered file is without showing a secret: a
// certificate's subject, serial and end; for anything else, its size.
func describeFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if blk, _ := pem.Decode(b); blk != nil {
		switch {
		case blk.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return "a certificate"
			}
			return fmt.Sprintf("certificate %s, serial %s, valid for %s", c.Subject, shortSerial(c.SerialNumber.Text(16)), time.Until(c.NotAfter).Round(time.Second))
		case strings.Contains(blk.Type, "PRIVATE KEY"):
			return "its private key (not shown)"
		}
	}
	return fmt.Sprintf("%d bytes (not shown: they may be secret)", len(b))
}

func shortSerial(s string) string {
	if len(s) > 12 {
		return s[:12] + "..."
	}
	return s
}
