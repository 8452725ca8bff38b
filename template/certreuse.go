package template

import (
	"maps"
	"time"

	"github.com/rotorproject/rotor/lease"
)

// Reusing a certificate found at a pkiCert template's destination.
//
// Vault's PKI engine issues a new certificate at every issue call, so an
// agent that issues at every start fills the CRL and makes every restart a
// rotation (a reload of nginx, new serials in every client). Vault Agent's
// pkiCert therefore reads its destination first and keeps a certificate
// that has not reached its renewal point. rotor does the same, and then
// hands that certificate to the scheduler as the secret it holds for the
// issue call: templates sharing the call render it, and the scheduler
// issues the next one at the usual point (lease_renewal_threshold of its
// validity), as for a certificate it issued itself.
//
// The seam with the scheduler is seedCert, one call of lease.Store.Restore:
// the one place to adapt when the store's value type changes.

// reuseCerts seeds the store with the reusable certificates at the
// destinations of the pkiCert calls every template certainly makes, before
// the first render. It runs once, on Run's goroutine, before any group
// renders: a group fetching the issue call concurrently would otherwise
// issue a new certificate while another group reuses the old one.
func (r *Runner) reuseCerts() {
	for _, t := range r.tmpls {
		for _, ref := range t.pkiRefs {
			r.reuseCert(t, ref)
		}
	}
}

// reuseCert seeds the store with the certificate at t's destination for
// ref, if the store does not hold ref yet and the file (a regular file
// owned by rotor or the template's owner, see readOwnFile) holds a
// certificate and its key before their renewal point. Safe for concurrent
// use: pkiCert calls with computed arguments get here from the render
// goroutines.
func (r *Runner) reuseCert(t *tmpl, ref lease.Ref) {
	if t.envName != "" || t.cfg.Destination == "" {
		return
	}
	// Serialized so that two templates naming the same issue call do not
	// both seed it (the second would replace the first one's value).
	r.seedMu.Lock()
	defer r.seedMu.Unlock()
	if _, ok := r.store.Lookup(ref.Key()); ok {
		return
	}
	c := t.certAt()
	if c.data == nil {
		return // nothing there yet, or not a file rotor wrote: issue one
	}
	now := r.clock.Now()
	if !now.Before(renewalPoint(c.notBefore, c.notAfter, t.cfg.Renewal.Or(r.o.Policy).Threshold)) {
		return
	}
	// A copy: the store owns what it is given, and this one is kept.
	seedCert(r.store, ref, maps.Clone(c.data), c.notBefore, c.notAfter, now)
	r.log.Info("reusing the certificate found at the destination", "template", t.name, "secret", ref.String(),
		"not_after", c.notAfter.UTC().Format(time.RFC3339))
}

// certFile is what certificate reuse found at a template's destination,
// kept until the file changes: while Vault refuses the issue call, every
// retry of the render asks again, and reading and parsing the file each
// time did the same work for the same answer.
type certFile struct {
	stamp fileStamp // the file it comes from; zero: none read
	// data is the certificate and key found, in the issue call's shape;
	// nil when the file holds no usable pair (or is not rotor's).
	data                map[string]any
	notBefore, notAfter time.Time
}

// certAt returns what t's destination holds for certificate reuse,
// reading it only if it changed since the last look (a stat tells).
// Called with Runner.seedMu held.
func (t *tmpl) certAt() certFile {
	st, ok := statStamp(t.cfg.Destination)
	switch {
	case !ok:
		t.cert = certFile{}
	case st != t.cert.stamp:
		// The stamp kept is the one of the file read (fstat on the
		// descriptor): a change after it differs from the next stat.
		content, st, err := readOwnFile(t.cfg.Destination, t.cfg.MaxBytes, t.uid)
		t.cert = certFile{stamp: st}
		if err == nil {
			if data, nb, na, ok := certPair(content); ok {
				t.cert.data, t.cert.notBefore, t.cert.notAfter = data, nb, na
			}
		}
	}
	return t.cert
}

// seedCert makes the store hold data as the answer to ref: a certificate
// without a lease, valid from notBefore to notAfter, so the scheduler
// re-issues it at its renewal point.
func seedCert(s *lease.Store, ref lease.Ref, data map[string]any, notBefore, notAfter, now time.Time) {
	s.Seed(ref, &lease.Secret{Data: data}, lease.Timing{Class: lease.ClassCert, Issued: now, NotBefore: notBefore, NotAfter: notAfter})
}
