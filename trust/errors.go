package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Validation sentinel errors, matched with errors.Is against the typed errors
// Store.Verify returns.
var (
	ErrUntrusted         = errors.New("certificate not trusted")
	ErrExpired           = errors.New("certificate expired")
	ErrNotYetValid       = errors.New("certificate not yet valid")
	ErrKeyUsage          = errors.New("certificate key usage does not allow this use")
	ErrRevoked           = errors.New("certificate revoked")
	ErrRevocationUnknown = errors.New("certificate revocation status unknown")
)

// UntrustedError: no chain from the certificate to a trust anchor of the
// store (another environment's or federation's certificate, an unknown CA, a
// broken chain, a CA certificate not allowed to sign).
type UntrustedError struct {
	Cert *x509.Certificate
	// Reason explains in words; Err is the x509 error, if any.
	Reason string
	Err    error
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("trust: certificate %s (issuer %s, serial %s) is not trusted: %s",
		describe(e.Cert), issuerOf(e.Cert), serialOf(e.Cert), e.Reason)
}

// Is makes errors.Is(err, ErrUntrusted) true.
func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// Unwrap returns the underlying x509 error.
func (e *UntrustedError) Unwrap() error { return e.Err }

// ValidityError: a certificate of the chain is outside its validity window at
// the verification time.
type ValidityError struct {
	Cert *x509.Certificate
	// Role is "certificate" for the one being verified, else "issuing CA" or
	// "trust anchor".
	Role      string
	NotBefore time.Time
	NotAfter  time.Time
	At        time.Time
}

// NotYetValid reports whether At is before NotBefore (else it is after
// NotAfter: expired).
func (e *ValidityError) NotYetValid() bool { return e.At.Before(e.NotBefore) }

func (e *ValidityError) Error() string {
	what := "expired"
	if e.NotYetValid() {
		what = "not yet valid"
	}
	return fmt.Sprintf("trust: %s %s (serial %s) is %s: valid from %s to %s, checked at %s",
		e.Role, describe(e.Cert), serialOf(e.Cert), what,
		e.NotBefore.UTC().Format(time.RFC3339), e.NotAfter.UTC().Format(time.RFC3339), e.At.UTC().Format(time.RFC3339))
}

// Is matches ErrExpired or ErrNotYetValid.
func (e *ValidityError) Is(target error) bool {
	if e.NotYetValid() {
		return target == ErrNotYetValid
	}
	return target == ErrExpired
}

// KeyUsageError: the certificate's KeyUsage extension lacks a required bit.
type KeyUsageError struct {
	Cert *x509.Certificate
	Have x509.KeyUsage
	Want x509.KeyUsage
}

func (e *KeyUsageError) Error() string {
	return fmt.Sprintf("trust: certificate %s (serial %s) key usage %s does not include %s",
		describe(e.Cert), serialOf(e.Cert), keyUsageString(e.Have), keyUsageString(e.Want&^e.Have))
}

// Is makes errors.Is(err, ErrKeyUsage) true.
func (e *KeyUsageError) Is(target error) bool { return target == ErrKeyUsage }

// RevokedError: a chain certificate is revoked.
type RevokedError struct {
	Cert   *x509.Certificate
	Status RevocationStatus
}

func (e *RevokedError) Error() string {
	s := fmt.Sprintf("trust: certificate %s (issuer %s, serial %s) is revoked: reason %s",
		describe(e.Cert), issuerOf(e.Cert), serialOf(e.Cert), e.Status.Reason)
	if !e.Status.RevokedAt.IsZero() {
		s += ", since " + e.Status.RevokedAt.UTC().Format(time.RFC3339)
	}
	if e.Status.Source != "" {
		s += " (" + e.Status.Source + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrRevoked) true.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }

// RevocationUnknownError: revocation status could not be established and
// the policy is hard-fail.
type RevocationUnknownError struct {
	Cert   *x509.Certificate
	Status RevocationStatus
	// Err is the checker's error; nil when the checker answered "unknown".
	Err error
}

func (e *RevocationUnknownError) Error() string {
	s := fmt.Sprintf("trust: revocation status of certificate %s (issuer %s, serial %s) is unknown",
		describe(e.Cert), issuerOf(e.Cert), serialOf(e.Cert))
	if e.Err != nil {
		s += ": " + e.Err.Error()
	} else if e.Status.Source != "" {
		s += " (" + e.Status.Source + ")"
	}
	return s + " (revocation policy hard-fail)"
}

// Is makes errors.Is(err, ErrRevocationUnknown) true.
func (e *RevocationUnknownError) Is(target error) bool { return target == ErrRevocationUnknown }

// Unwrap returns the checker's error.
func (e *RevocationUnknownError) Unwrap() error { return e.Err }

func issuerOf(c *x509.Certificate) string {
	if c == nil {
		return "?"
	}
	return fmt.Sprintf("%q", c.Issuer.String())
}

func serialOf(c *x509.Certificate) string {
	if c == nil || c.SerialNumber == nil {
		return "?"
	}
	return c.SerialNumber.Text(16)
}

var keyUsageNames = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

// keyUsageString names the bits of ku as RFC 5280 does.
func keyUsageString(ku x509.KeyUsage) string {
	var names []string
	for _, n := range keyUsageNames {
		if ku&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, "|")
}
