package inspect

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
)

// Options are the operator's inputs besides the capture itself.
type Options struct {
	// ContentType of the body when the capture carries no headers; empty
	// means detect (a multipart body's boundary is taken from its first line).
	ContentType string
	// Trust, when set, is the store the signer must chain to. Without it the
	// signature is checked with the referenced certificate and the report
	// says that trust was not checked.
	Trust *trust.Store
	// Certificates resolve IssuerSerial / SKI references and identify the
	// certificate belonging to Key.
	Certificates []*x509.Certificate
	// Key decrypts encrypted attachments.
	Key crypto.Signer
	// At is the verification time; zero means now.
	At time.Time
	// Limits bound what is read; zero fields mean the defaults.
	Limits soap.Limits
	// SpoolDir holds attachments while inspecting; empty means os.TempDir().
	SpoolDir string
}

// Inspect reads one captured message and reports on it. It returns an error
// only when the report itself cannot be made (e.g. the spool directory is not
// writable); problems with the message are failed checks in the report.
func Inspect(r io.Reader, opts Options) (*Report, error) {
	rep := &Report{Payloads: []PayloadReport{}, Checks: []Check{}}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	msg, info, err := soap.ReadCapturedInfo(r, opts.ContentType, opts.Limits, opts.SpoolDir)
	if err != nil {
		var spool *soap.SpoolError
		if errors.As(err, &spool) {
			return nil, err
		}
		rep.fail("read", "", err)
		return rep.finish(), nil
	}
	defer msg.Close()
	rep.Input = InputReport{
		Format:      info.Format.String(),
		ContentType: info.ContentType,
		SOAPVersion: msg.Envelope.Version.String(),
		Envelope:    len(msg.EnvelopeBytes),
		Parts:       len(msg.Attachments),
	}
	rep.pass("read", fmt.Sprintf("%s, %s, %d attachment(s)", info.Format, msg.Envelope.Version, len(msg.Attachments)))

	var messaging *ebms.Messaging
	if el, err := ebms.FindMessaging(msg.Envelope.Header); err != nil {
		rep.fail("ebms-header", codeOf(err), err)
	} else if m, err := ebms.Decode(el); err != nil {
		rep.fail("ebms-header", codeOf(err), err)
	} else {
		messaging = m
		rep.EbMS = ebmsReport(m)
		rep.pass("ebms-header", "")
	}

	env := wssec.EnvelopeFromSOAP(msg.Envelope)
	lookup := trust.NewCertificateIndex(opts.Certificates...)
	sec := &SecurityReport{}
	rep.Security = sec
	wireSizes := map[string]int64{}
	for _, a := range msg.Attachments {
		wireSizes[a.ContentID] = a.Size
	}
	unavailable := rep.decrypt(env, msg, sec, lookup, opts)
	rep.signature(env, msg, sec, unavailable, lookup, opts, at)
	rep.payloads(msg, messaging, unavailable, wireSizes, opts)
	return rep.finish(), nil
}

func (rep *Report) pass(name, detail string) {
	rep.Checks = append(rep.Checks, Check{Name: name, OK: true, Detail: detail})
}

func (rep *Report) fail(name, code string, err error) {
	rep.Checks = append(rep.Checks, Check{Name: name, OK: false, Code: code, Detail: err.Error()})
}

func (rep *Report) finish() *Report {
	rep.OK = len(rep.Checks) > 0
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	return rep
}

// codeOf returns the EBMS code an error carries, if any.
func codeOf(err error) string {
	var we *wssec.Error
	var ve *ebms.ValidationError
	var pe *xenc.PayloadError
	switch {
	case errors.As(err, &we):
		return string(we.Code)
	case errors.As(err, &ve):
		return string(ve.Code)
	case errors.As(err, &pe):
		return string(pe.Code)
	}
	return ""
}

func certificateReport(c *x509.Certificate) *CertificateReport {
	sum := sha256.Sum256(c.Raw)
	return &CertificateReport{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		SHA256:    hex.EncodeToString(sum[:]),
	}
}

// identityFor pairs the operator's key with its certificate: one of the given
// certificates, or one carried in the message. Without a match a throwaway
// self-signed certificate stands in, so decryption can still be tried; the
// recipient then shows as not identified.
func identityFor(key crypto.Signer, certs []*x509.Certificate, carried []*x509.Certificate) (*trust.Identity, error) {
	for _, c := range append(append([]*x509.Certificate{}, certs...), carried...) {
		if id, err := trust.NewIdentity(key, c, nil); err == nil {
			return id, nil
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "as4gw inspect: key without certificate"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return trust.NewIdentity(key, cert, nil)
}
