package trust

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key usages to require, by purpose.
const (
	// KeyUsageSigning is required of a certificate whose key signs AS4
	// messages and receipts.
	KeyUsageSigning = x509.KeyUsageDigitalSignature
	// KeyUsageEncryption is required of a certificate whose RSA key receives
	// an encrypted content key (RSA-OAEP key transport).
	KeyUsageEncryption = x509.KeyUsageKeyEncipherment
)

// VerifyOptions control Store.Verify.
type VerifyOptions struct {
	// At is the time to validate at; zero means now. Tests with recorded
	// messages use the time of the message, as their certificates expired.
	At time.Time

	// KeyUsage bits that the leaf certificate must all have, e.g.
	// KeyUsageSigning. 0 requires nothing.
	//
	// A certificate without a KeyUsage extension is accepted: RFC 5280
	// 4.2.1.3 makes the extension optional and its absence places no
	// restriction, and several AS4 test PKIs omit it. Result.Warnings notes
	// it.
	KeyUsage x509.KeyUsage

	// ExtKeyUsages, when non-empty, requires one of these extended key
	// usages through the chain. Empty means any: AS4 certificates carry no
	// EKU, clientAuth (Peppol) or unusual ones, and no AS4 profile defines
	// one, so requiring serverAuth (Go's default) would reject them.
	ExtKeyUsages []x509.ExtKeyUsage

	// Revocation is called for each certificate of the chain except the
	// trust anchor. nil means no check, recorded as a warning.
	Revocation RevocationChecker
	// RevocationPolicy decides what a failed or unknown check means; the
	// zero value is RevocationHardFail.
	RevocationPolicy RevocationPolicy
}

// Result describes a successful validation.
type Result struct {
	// Chain runs from the verified certificate to the trust anchor that
	// accepted it (both included). A pinned certificate's chain is itself.
	Chain []*x509.Certificate
	// Pinned is true when the certificate itself is a trust anchor.
	Pinned bool
	// At is the time validated at.
	At time.Time
	// Revocation lists each check made, leaf first.
	Revocation []RevocationOutcome
	// Warnings are conditions that were accepted but belong in the log:
	// soft-failed revocation checks, revocation not checked, a missing
	// KeyUsage extension.
	Warnings []string
}

// Anchor returns the trust anchor the chain ends in.
func (r *Result) Anchor() *x509.Certificate { return r.Chain[len(r.Chain)-1] }

// Verify is VerifyContext with context.Background().
func (s *Store) Verify(cert *x509.Certificate, intermediates []*x509.Certificate, opts VerifyOptions) (*Result, error) {
	return s.VerifyContext(context.Background(), cert, intermediates, opts)
}

// VerifyContext validates cert against the store's anchors at opts.At, using
// the store's intermediates and those given (e.g. from an X509PKIPathv1
// token) to build the chain; then checks the leaf's key usage and the
// revocation status of every non-anchor certificate in the chain.
//
// Errors, in order of precedence: *UntrustedError (no chain to an anchor;
// reported even when the certificate is also expired, since that is the more
// fundamental problem), *ValidityError (the certificate or a CA in its only
// chains is outside its validity window), *KeyUsageError, *RevokedError and
// *RevocationUnknownError.
func (s *Store) VerifyContext(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate, opts VerifyOptions) (*Result, error) {
	if cert == nil {
		return nil, errors.New("trust: no certificate to verify")
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	ekus := opts.ExtKeyUsages
	if len(ekus) == 0 {
		ekus = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	s.mu.RLock()
	gen := s.gen
	s.mu.RUnlock()
	key := chainKey(gen, cert, intermediates, ekus)
	chains := s.chains.get(key, at)
	if chains == nil {
		var err error
		if chains, err = s.buildChains(cert, intermediates, ekus, at); err != nil {
			return nil, err
		}
		s.chains.put(key, chains)
	}
	return s.checkChains(ctx, cert, chains, at, opts)
}

// buildChains finds cert's chains to the anchors (x509.Verify: signatures,
// validity at at, name constraints, extended key usages).
func (s *Store) buildChains(cert *x509.Certificate, intermediates []*x509.Certificate, ekus []x509.ExtKeyUsage, at time.Time) ([][]*x509.Certificate, error) {
	roots, storeICAs := s.pools()
	anchors := s.Anchors()
	if len(anchors) == 0 {
		return nil, &UntrustedError{Cert: cert, Reason: "the trust store has no anchors"}
	}
	icas := append([]*x509.Certificate(nil), storeICAs...)
	for _, c := range intermediates {
		if c != nil {
			icas = append(icas, c)
		}
	}
	icaPool := x509.NewCertPool()
	for _, c := range icas {
		icaPool.AddCert(c)
	}
	xo := x509.VerifyOptions{Roots: roots, Intermediates: icaPool, CurrentTime: at, KeyUsages: ekus}
	chains, err := cert.Verify(xo)
	if err != nil {
		return nil, classifyChainError(cert, xo, anchors, icas, err)
	}
	return chains, nil
}

// checkChains checks the leaf's key usage and takes the first chain whose
// revocation checks pass.
func (s *Store) checkChains(ctx context.Context, cert *x509.Certificate, chains [][]*x509.Certificate, at time.Time, opts VerifyOptions) (*Result, error) {
	var warnings []string
	if missing, kuErr := checkKeyUsage(cert, opts.KeyUsage); kuErr != nil {
		return nil, kuErr
	} else if missing && opts.KeyUsage != 0 {
		warnings = append(warnings, fmt.Sprintf("certificate %s has no KeyUsage extension; accepted as unrestricted (RFC 5280 4.2.1.3)", describe(cert)))
	}

	// Go may find several chains (cross-certified CAs). Take the first one
	// whose revocation checks pass; report the first chain's failure if none
	// does.
	var firstErr error
	for _, chain := range chains {
		res := &Result{Chain: chain, Pinned: len(chain) == 1, At: at, Warnings: append([]string(nil), warnings...)}
		if err := checkRevocation(ctx, res, opts); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return res, nil
	}
	return nil, firstErr
}

// classifyChainError turns x509.Verify's error into the package's typed
// errors. x509 reports an expired CA only as a hint inside
// UnknownAuthorityError, and an expired leaf before looking for a chain at
// all. So the chain is looked for again with names and signatures only
// (issuerPath): if the certificate does chain to an anchor that way, the
// failure is a validity problem of a certificate on that path; otherwise it
// is untrusted. This only refines the error; the decision to reject was made
// by x509.Verify at the requested time.
func classifyChainError(cert *x509.Certificate, xo x509.VerifyOptions, anchors, icas []*x509.Certificate, err error) error {
	at := xo.CurrentTime
	var cie x509.CertificateInvalidError
	var uae x509.UnknownAuthorityError
	leafExpired := errors.As(err, &cie) && cie.Reason == x509.Expired
	if !leafExpired && !errors.As(err, &uae) {
		return &UntrustedError{Cert: cert, Reason: reasonText(err), Err: err}
	}
	if path := issuerPath(cert, anchors, icas); path != nil {
		for i, c := range path {
			if at.Before(c.NotBefore) || at.After(c.NotAfter) {
				role := "issuing CA"
				switch {
				case i == 0:
					role = "certificate"
				case i == len(path)-1:
					role = "trust anchor"
				}
				return &ValidityError{Cert: c, Role: role, NotBefore: c.NotBefore, NotAfter: c.NotAfter, At: at}
			}
		}
	}
	reason := "no chain to a trust anchor of this store"
	if leafExpired {
		reason += fmt.Sprintf(" (it is also outside its validity window %s to %s)",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return &UntrustedError{Cert: cert, Reason: reason, Err: err}
}

// issuerPath finds a path from cert to an anchor by issuer name and
// signature, ignoring validity periods; nil when there is none. Depth is
// bounded and each certificate is used once.
func issuerPath(cert *x509.Certificate, anchors, icas []*x509.Certificate) []*x509.Certificate {
	isAnchor := func(c *x509.Certificate) bool {
		for _, a := range anchors {
			if a.Equal(c) {
				return true
			}
		}
		return false
	}
	var walk func(path []*x509.Certificate) []*x509.Certificate
	walk = func(path []*x509.Certificate) []*x509.Certificate {
		cur := path[len(path)-1]
		if isAnchor(cur) {
			return path
		}
		if len(path) > 8 {
			return nil
		}
		for _, pool := range [][]*x509.Certificate{anchors, icas} {
			for _, c := range pool {
				if slices.ContainsFunc(path, c.Equal) || string(c.RawSubject) != string(cur.RawIssuer) {
					continue
				}
				if cur.CheckSignatureFrom(c) != nil {
					continue
				}
				if found := walk(append(slices.Clip(path), c)); found != nil {
					return found
				}
			}
		}
		return nil
	}
	return walk([]*x509.Certificate{cert})
}

// reasonText shortens x509 error texts that carry no extra information.
func reasonText(err error) string {
	return strings.TrimPrefix(err.Error(), "x509: ")
}

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// checkKeyUsage checks that cert has every bit of want. missing reports that
// the certificate has no KeyUsage extension, which is accepted.
func checkKeyUsage(cert *x509.Certificate, want x509.KeyUsage) (missing bool, err error) {
	present := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			present = true
			break
		}
	}
	if !present {
		return true, nil
	}
	if cert.KeyUsage&want != want {
		return false, &KeyUsageError{Cert: cert, Have: cert.KeyUsage, Want: want}
	}
	return false, nil
}

// checkRevocation runs the checker over res.Chain (all but the anchor) and
// applies the policy, filling res.Revocation and res.Warnings.
func checkRevocation(ctx context.Context, res *Result, opts VerifyOptions) error {
	chain := res.Chain
	if len(chain) < 2 {
		// A pinned certificate has no issuer in the chain to ask about it;
		// trusting it is the operator's explicit decision.
		return nil
	}
	checker := opts.Revocation
	if checker == nil {
		checker = NoRevocationCheck{}
	}
	var notChecked []string
	for i := 0; i < len(chain)-1; i++ {
		cert, issuer := chain[i], chain[i+1]
		st, err := checker.Check(ctx, cert, issuer, res.At)
		res.Revocation = append(res.Revocation, RevocationOutcome{Certificate: cert, Status: st, Err: err})
		switch {
		case err != nil:
			if opts.RevocationPolicy == RevocationSoftFail {
				res.Warnings = append(res.Warnings, fmt.Sprintf("revocation check of %s failed, accepted under soft-fail: %v", describe(cert), err))
				continue
			}
			return &RevocationUnknownError{Cert: cert, Status: st, Err: err}
		case st.State == RevocationRevoked:
			return &RevokedError{Cert: cert, Status: st}
		case st.State == RevocationUnknown:
			if opts.RevocationPolicy == RevocationSoftFail {
				res.Warnings = append(res.Warnings, fmt.Sprintf("revocation status of %s is unknown, accepted under soft-fail", describe(cert)))
				continue
			}
			return &RevocationUnknownError{Cert: cert, Status: st}
		case st.State == RevocationNotChecked:
			notChecked = append(notChecked, describe(cert))
		case st.State == RevocationGood:
		default:
			return &RevocationUnknownError{Cert: cert, Status: st, Err: fmt.Errorf("checker returned %v", st.State)}
		}
	}
	if len(notChecked) > 0 {
		res.Warnings = append(res.Warnings, "revocation not checked for "+strings.Join(notChecked, ", "))
	}
	return nil
}
