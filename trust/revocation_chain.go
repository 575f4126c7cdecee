package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RevocationMode selects how a trust store checks revocation.
type RevocationMode string

const (
	// RevocationModeOCSP asks OCSP responders only.
	RevocationModeOCSP RevocationMode = "ocsp"
	// RevocationModeCRL downloads CRLs only.
	RevocationModeCRL RevocationMode = "crl"
	// RevocationModeOCSPThenCRL asks OCSP first and falls back to the CRL
	// when OCSP gives no definite answer (no responder URL, responder down
	// or refusing, invalid or stale response, status "unknown"). A definite
	// "good" or "revoked" from OCSP is final.
	RevocationModeOCSPThenCRL RevocationMode = "ocsp-then-crl"
	// RevocationModeNone checks nothing; Store.Verify records "revocation
	// not checked" as a warning. Not allowed by the SDK federation.
	RevocationModeNone RevocationMode = "none"
)

// ParseRevocationMode reads a mode name as written in configuration
// (case-insensitive).
func ParseRevocationMode(s string) (RevocationMode, error) {
	m := RevocationMode(strings.ToLower(strings.TrimSpace(s)))
	switch m {
	case RevocationModeOCSP, RevocationModeCRL, RevocationModeOCSPThenCRL, RevocationModeNone:
		return m, nil
	}
	return "", fmt.Errorf("trust: unknown revocation mode %q (want ocsp, crl, ocsp-then-crl or none)", s)
}

// RevocationConfig configures the revocation checker of one trust store.
// What a failed check means (reject or warn) is VerifyOptions.RevocationPolicy.
type RevocationConfig struct {
	Mode RevocationMode
	OCSP OCSPOptions
	CRL  CRLOptions
	// AllowNoSource reports a certificate that names no OCSP responder and
	// no CRL distribution point usable by the mode (and none is
	// configured) as RevocationNotChecked, which Store.Verify accepts with a
	// warning, instead of failing. Meant for CA certificates under roots
	// that publish nothing; off by default, as SDK requires checking.
	AllowNoSource bool
}

// ModeChecker is the RevocationChecker of a trust store: OCSP, CRL, OCSP
// then CRL, or none, per RevocationConfig. It never turns a failure into a
// pass: when no source gives a definite answer it returns RevocationUnknown
// with an error naming each source tried and why it failed, and
// Store.Verify's policy decides.
type ModeChecker struct {
	mode          RevocationMode
	ocsp          *OCSPChecker
	crl           *CRLChecker
	allowNoSource bool
}

// NewRevocationChecker builds the checker for cfg. Each call has its own
// caches: give each trust store its own checker so that nothing is shared
// between federations or environments.
func NewRevocationChecker(cfg RevocationConfig) (*ModeChecker, error) {
	mode, err := ParseRevocationMode(string(cfg.Mode))
	if err != nil {
		return nil, err
	}
	m := &ModeChecker{mode: mode, allowNoSource: cfg.AllowNoSource}
	if mode == RevocationModeOCSP || mode == RevocationModeOCSPThenCRL {
		if m.ocsp, err = NewOCSPChecker(cfg.OCSP); err != nil {
			return nil, err
		}
	}
	if mode == RevocationModeCRL || mode == RevocationModeOCSPThenCRL {
		if m.crl, err = NewCRLChecker(cfg.CRL); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Mode returns the configured mode.
func (m *ModeChecker) Mode() RevocationMode { return m.mode }

// Check implements RevocationChecker.
func (m *ModeChecker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (RevocationStatus, error) {
	switch m.mode {
	case RevocationModeNone:
		return RevocationStatus{State: RevocationNotChecked, Source: "revocation mode none"}, nil
	case RevocationModeOCSP:
		return m.single(m.ocsp.Check(ctx, cert, issuer, at))
	case RevocationModeCRL:
		return m.single(m.crl.Check(ctx, cert, issuer, at))
	}

	st, err := m.ocsp.Check(ctx, cert, issuer, at)
	if err == nil && (st.State == RevocationGood || st.State == RevocationRevoked) {
		return st, nil
	}
	if err == nil {
		// Defensive: a checker answer without error that is not definite.
		err = fmt.Errorf("trust: OCSP gave status %v", st.State)
	}
	st2, err2 := m.crl.Check(ctx, cert, issuer, at)
	if err2 == nil && (st2.State == RevocationGood || st2.State == RevocationRevoked) {
		st2.Source += " after OCSP failed: " + shortFailure(err)
		return st2, nil
	}
	if err2 == nil {
		err2 = fmt.Errorf("trust: CRL gave status %v", st2.State)
	}
	if m.allowNoSource && errors.Is(err, FailureNoSource) && errors.Is(err2, FailureNoSource) {
		return RevocationStatus{State: RevocationNotChecked, Source: "no OCSP responder or CRL distribution point"}, nil
	}
	return RevocationStatus{State: RevocationUnknown, Source: st.Source + ", then " + st2.Source},
		fmt.Errorf("%w; then %w", err, err2)
}

func (m *ModeChecker) single(st RevocationStatus, err error) (RevocationStatus, error) {
	if err != nil && m.allowNoSource && errors.Is(err, FailureNoSource) {
		return RevocationStatus{State: RevocationNotChecked, Source: st.Source + ": no source"}, nil
	}
	return st, err
}

// shortFailure names a source failure for a Source text: "timeout at
// http://ocsp.example".
func shortFailure(err error) string {
	var se *RevocationSourceError
	if errors.As(err, &se) {
		if se.URL != "" {
			return se.Failure.String() + " at " + se.URL
		}
		return se.Failure.String()
	}
	return err.Error()
}
