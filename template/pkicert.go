package template

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/consul-template/dependency"
)

// pkiCert's value is built the way Vault Agent (consul-template's
// pkiCertFunc) builds it, so templates render the same bytes:
//
//   - every PEM block found in the response's string fields and in its
//     ca_chain list is decoded and encoded again, so .Cert, .Key, .CA and
//     each .CAChain item end with a newline ("{{ .Cert }}{{ .Key }}" is a
//     valid bundle);
//   - a block whose type ends in "PRIVATE KEY" is .Key; a certificate that
//     is a CA is .CA (the first one) and joins .CAChain (once); any other
//     certificate is .Cert;
//   - a block that is neither a key nor a parsable certificate is an error.
//
// consul-template walks the response's map in Go's random order; rotor
// walks it in sorted key order, which gives the same result for Vault's
// issue responses (ca_chain starts with issuing_ca).

// pemsFromData builds pkiCert's value from an issue response's data. It
// also returns the leaf certificate (nil if there is none).
func pemsFromData(data map[string]any) (dependency.PemEncoded, *x509.Certificate, error) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var raw bytes.Buffer
	for _, k := range keys {
		switch v := data[k].(type) {
		case string:
			raw.WriteString(v + "\n")
		case []any:
			if k != "ca_chain" {
				continue
			}
			for _, item := range v {
				if s, ok := item.(string); ok {
					raw.WriteString(s + "\n")
				}
			}
		}
	}
	return pemsFromBytes(raw.Bytes())
}

// pemsFromBytes sorts the PEM blocks of b into pkiCert's fields, as
// described above. Text between blocks is ignored.
func pemsFromBytes(b []byte) (dependency.PemEncoded, *x509.Certificate, error) {
	var out dependency.PemEncoded
	var leaf *x509.Certificate
	for {
		var block *pem.Block
		block, b = nextBlock(b)
		if block == nil {
			return out, leaf, nil
		}
		enc := string(pem.EncodeToMemory(block))
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			out.Key = enc
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return dependency.PemEncoded{}, nil, fmt.Errorf("pkiCert: %s block: %w", block.Type, err)
		}
		if !c.IsCA {
			out.Cert, leaf = enc, c
			continue
		}
		if out.CA == "" {
			out.CA = enc
		}
		if !out.CaChainContains(enc) {
			out.CAChain = append(out.CAChain, enc)
		}
	}
}

// nextBlock returns the next PEM block of b and what follows it. As in
// Vault Agent, a block may start anywhere in a line ("Certificate:
// -----BEGIN ...", which pem.Decode skips) and end anywhere (its END line
// needs no newline); scanning stops at the first block that does not
// decode.
func nextBlock(b []byte) (*pem.Block, []byte) {
	start := bytes.Index(b, []byte("-----BEGIN"))
	if start < 0 {
		return nil, nil
	}
	b = b[start:]
	end := bytes.Index(b, []byte("-----END"))
	if end < 0 {
		return nil, nil
	}
	tail := bytes.Index(b[end+len("-----END"):], []byte("-----"))
	if tail < 0 {
		return nil, nil
	}
	stop := end + len("-----END") + tail + len("-----")
	block, _ := pem.Decode(append(b[:stop:stop], '\n'))
	return block, b[stop:]
}

// certPair reads a pkiCert template's destination and returns the issue
// response it holds, as Vault Agent reuses a certificate it finds there
// instead of issuing a new one at every restart. The file must hold a
// certificate and the private key that matches it (a file without the
// key could not give the key to a template that renders it). Anything
// else (no certificate, a block that does not parse) returns ok false: a
// new certificate is issued, where Vault Agent fails on a file it cannot
// parse. Whether it is still early enough to reuse it is reuseCert's
// question (renewalPoint).
func certPair(content []byte) (data map[string]any, notBefore, notAfter time.Time, ok bool) {
	pems, leaf, err := pemsFromBytes(content)
	if err != nil || leaf == nil || pems.Key == "" {
		return nil, time.Time{}, time.Time{}, false
	}
	block, _ := pem.Decode([]byte(pems.Key))
	pub, err := publicKey(block)
	if err != nil || matching([]*x509.Certificate{leaf}, pub) == nil {
		return nil, time.Time{}, time.Time{}, false
	}
	return issueData(pems, leaf), leaf.NotBefore, leaf.NotAfter, true
}

// renewalPoint is when a certificate is due for renewal: threshold of the
// way from notBefore to notAfter (Vault Agent's goodFor without its
// jitter, which integer division makes zero anyway).
func renewalPoint(notBefore, notAfter time.Time, threshold float64) time.Time {
	if threshold <= 0 || threshold > 1 {
		threshold = defaultCertReuseThreshold
	}
	return notBefore.Add(time.Duration(float64(notAfter.Sub(notBefore)) * threshold))
}

// defaultCertReuseThreshold is lease_renewal_threshold's default.
const defaultCertReuseThreshold = 0.9

// issueData rebuilds the data of the issue response a reused certificate
// came from, in Vault's own shape (PEM without a final newline, the serial
// as colon-separated hex, the expiration as Unix seconds), so a `secret`
// call sharing the issue call sees what Vault would have answered, and
// pkiCert gives back the fields read from the file.
func issueData(p dependency.PemEncoded, leaf *x509.Certificate) map[string]any {
	trim := func(s string) string { return strings.TrimSuffix(s, "\n") }
	d := map[string]any{
		"certificate":   trim(p.Cert),
		"private_key":   trim(p.Key),
		"serial_number": serialHex(leaf.SerialNumber.Bytes()),
		"expiration":    json.Number(fmt.Sprint(leaf.NotAfter.Unix())),
	}
	if t := keyType(p.Key); t != "" {
		d["private_key_type"] = t
	}
	if p.CA != "" {
		d["issuing_ca"] = trim(p.CA)
	}
	if len(p.CAChain) > 0 {
		chain := make([]any, len(p.CAChain))
		for i, c := range p.CAChain {
			chain[i] = trim(c)
		}
		d["ca_chain"] = chain
	}
	return d
}

// serialHex formats a serial number as Vault does: lower-case hex bytes
// joined by colons.
func serialHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// keyType names a PEM private key's algorithm as Vault's private_key_type
// does ("rsa", "ec", "ed25519"); "" when it does not parse.
func keyType(keyPEM string) string {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return ""
	}
	pub, err := publicKey(block)
	if err != nil {
		return ""
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		return "rsa"
	case *ecdsa.PublicKey:
		return "ec"
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}
