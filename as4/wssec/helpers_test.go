package wssec

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec/c14n"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/internal/testutil"
	"github.com/as4gw/as4gw/trust"
)

// wantErr is the failure a test expects: the EBMS code, the Check, and
// optionally a fragment of the Detail (e.g. which reference failed).
type wantErr struct {
	code   ebms.Code
	check  string
	detail string
}

func (w wantErr) String() string {
	s := string(w.code) + " " + w.check
	if w.detail != "" {
		s += " (" + w.detail + ")"
	}
	return s
}

// assertErr fails unless err is a *Error matching w exactly.
func assertErr(t testing.TB, err error, w wantErr) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", w)
	}
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *wssec.Error, want %s", err, err, w)
	}
	if we.Code != w.code || we.Check != w.check {
		t.Fatalf("error %q: got %s %s, want %s", err, we.Code, we.Check, w)
	}
	if w.detail != "" && !strings.Contains(we.Detail, w.detail) {
		t.Fatalf("error %q: detail lacks %q", err, w.detail)
	}
	return we
}

// readVector reads a stored wire message in place (never copied) with the
// soap reader, spooling attachments to a per-test directory.
func readVector(t testing.TB, rel string) *soap.Message {
	t.Helper()
	f, err := os.Open(testutil.Vector(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := soap.ReadCaptured(f, "", soap.Limits{}, t.TempDir())
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// vectorCerts loads certificates (PEM or DER) from vector files.
func vectorCerts(t testing.TB, rels ...string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, rel := range rels {
		certs, err := trust.LoadCertificatesFile(testutil.Vector(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, certs...)
	}
	return out
}

// bstCertificate returns the certificate of the BinarySecurityToken with the
// given wsu:Id in a vector (for certificates that exist only inside another
// message, such as Domibus' "LEAF CERTIFICATE").
func bstCertificate(t testing.TB, rel, id string) *x509.Certificate {
	t.Helper()
	m := readVector(t, rel)
	ids, err := IndexIDs(m.Envelope.Root)
	if err != nil {
		t.Fatal(err)
	}
	el, ok := ids[id]
	if !ok {
		t.Fatalf("%s: no element with ID %s", rel, id)
	}
	tok, err := parseBST(el)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Certificate
}

// referenceDigests recomputes the digest of every same-document Reference
// of the message signature WITHOUT checking the SignatureValue, and reports
// per target ("eb:Messaging", "Body", ...) whether it matches. It is a
// diagnostic for edited vectors whose SignatureValue is broken too, to show
// which part was changed; it uses Verify's own resolution, position and
// canonicalization code.
func referenceDigests(t testing.TB, env Envelope) map[string]bool {
	t.Helper()
	sec, err := FindSecurity(env.Header)
	if err != nil || sec == nil {
		t.Fatalf("no Security header: %v", err)
	}
	sig, err := childNS(sec, NSDS, "Signature")
	if err != nil || sig == nil {
		t.Fatalf("no signature: %v", err)
	}
	si, _ := childNS(sig, NSDS, "SignedInfo")
	_, _, refs, err := signedInfoParts(si)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := IndexIDs(env.Root)
	if err != nil {
		t.Fatal(err)
	}
	pol := DefaultPolicy()
	out := map[string]bool{}
	for _, r := range refs {
		vr, h, err := parseReference(r, pol)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(vr.URI, "#") {
			continue
		}
		el, ok := ids.Resolve(vr.URI)
		if !ok {
			out["unresolved "+vr.URI] = false
			continue
		}
		target, err := checkPosition(el, env, sec)
		if err != nil {
			t.Fatal(err)
		}
		var prefixes []string
		if in := vr.Transforms[0].InclusiveNamespaces; in != nil {
			prefixes = in.PrefixList
		}
		d := h.New()
		if err := c14n.CanonicalizeTo(d, el, c14n.Options{InclusivePrefixes: prefixes}); err != nil {
			t.Fatal(err)
		}
		out[target] = string(d.Sum(nil)) == string(vr.DigestValue)
	}
	return out
}

// reparseWire reads serialized envelope bytes as a receiver would.
func reparseWire(t testing.TB, wire []byte) Envelope {
	t.Helper()
	se, err := soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return EnvelopeFromSOAP(se)
}
