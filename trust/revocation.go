package trust

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// RevocationState is the answer of a revocation check.
type RevocationState int

const (
	// RevocationNotChecked: no check was made (NoRevocationCheck, or no
	// checker configured). Accepted under both policies and recorded as a
	// warning, so the audit trail shows that revocation was not checked.
	RevocationNotChecked RevocationState = iota
	// RevocationGood: the responder or CRL says the certificate is not
	// revoked at the time asked.
	RevocationGood
	// RevocationRevoked: the certificate is revoked. Always fatal, whatever
	// the policy: a definite "revoked" is never softened.
	RevocationRevoked
	// RevocationUnknown: the source answered but has no status for the
	// certificate (OCSP "unknown"), or no source applies. Fatal under
	// RevocationHardFail, a warning under RevocationSoftFail.
	RevocationUnknown
)

func (s RevocationState) String() string {
	switch s {
	case RevocationNotChecked:
		return "not checked"
	case RevocationGood:
		return "good"
	case RevocationRevoked:
		return "revoked"
	case RevocationUnknown:
		return "unknown"
	}
	return fmt.Sprintf("RevocationState(%d)", int(s))
}

// RevocationReason is an RFC 5280 CRLReason code.
type RevocationReason int

// CRLReason codes (RFC 5280 5.3.1).
const (
	ReasonUnspecified          RevocationReason = 0
	ReasonKeyCompromise        RevocationReason = 1
	ReasonCACompromise         RevocationReason = 2
	ReasonAffiliationChanged   RevocationReason = 3
	ReasonSuperseded           RevocationReason = 4
	ReasonCessationOfOperation RevocationReason = 5
	ReasonCertificateHold      RevocationReason = 6
	ReasonRemoveFromCRL        RevocationReason = 8
	ReasonPrivilegeWithdrawn   RevocationReason = 9
	ReasonAACompromise         RevocationReason = 10
)

func (r RevocationReason) String() string {
	switch r {
	case ReasonUnspecified:
		return "unspecified"
	case ReasonKeyCompromise:
		return "keyCompromise"
	case ReasonCACompromise:
		return "cACompromise"
	case ReasonAffiliationChanged:
		return "affiliationChanged"
	case ReasonSuperseded:
		return "superseded"
	case ReasonCessationOfOperation:
		return "cessationOfOperation"
	case ReasonCertificateHold:
		return "certificateHold"
	case ReasonRemoveFromCRL:
		return "removeFromCRL"
	case ReasonPrivilegeWithdrawn:
		return "privilegeWithdrawn"
	case ReasonAACompromise:
		return "aACompromise"
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// RevocationStatus is what a RevocationChecker found for one certificate.
type RevocationStatus struct {
	State RevocationState
	// RevokedAt and Reason are set when State is RevocationRevoked.
	RevokedAt time.Time
	Reason    RevocationReason
	// Source says where the answer came from (e.g. "OCSP http://ocsp.example",
	// "CRL http://crl.example/ca.crl"), for logs and the audit trail.
	Source string
}

// RevocationChecker answers whether cert, issued by issuer, was revoked at
// time at. Store.Verify calls it for every certificate of the validated chain
// except the trust anchor. An error means no answer could be had (responder
// unreachable, CRL expired, bad signature on the response); the
// RevocationPolicy decides what that means.
type RevocationChecker interface {
	Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (RevocationStatus, error)
}

// NoRevocationCheck is a RevocationChecker that checks nothing. Use it only
// where revocation is knowingly out of scope (tests, pinned test partners);
// the SDK federation requires checking.
type NoRevocationCheck struct{}

// Check returns RevocationNotChecked.
func (NoRevocationCheck) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) (RevocationStatus, error) {
	return RevocationStatus{State: RevocationNotChecked}, nil
}

// RevocationPolicy says what to do when revocation status cannot be
// established. The zero value is RevocationHardFail, the safe default.
type RevocationPolicy int

const (
	// RevocationHardFail: a checker error or an "unknown" status fails the
	// validation with a RevocationUnknownError.
	RevocationHardFail RevocationPolicy = iota
	// RevocationSoftFail: a checker error or an "unknown" status is recorded
	// in Result.Warnings and validation passes. "Revoked" still fails.
	RevocationSoftFail
)

func (p RevocationPolicy) String() string {
	switch p {
	case RevocationHardFail:
		return "hard-fail"
	case RevocationSoftFail:
		return "soft-fail"
	}
	return fmt.Sprintf("RevocationPolicy(%d)", int(p))
}

// RevocationOutcome records the check of one chain certificate.
type RevocationOutcome struct {
	Certificate *x509.Certificate
	Status      RevocationStatus
	// Err is the checker's error, if any.
	Err error
}
