package wssec

import (
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec/c14n"
	"github.com/as4gw/as4gw/ebms"
)

// CertificateValidator decides whether a signing certificate is trusted at a
// given time: chain to the AS4 trust store, validity, key usage, revocation. The
// trust package provides one; nil means "not checked" (Result.TrustChecked).
type CertificateValidator interface {
	ValidateSigner(cert *x509.Certificate, intermediates []*x509.Certificate, at time.Time) error
}

// ValidatorFunc adapts a function to CertificateValidator.
type ValidatorFunc func(cert *x509.Certificate, intermediates []*x509.Certificate, at time.Time) error

// ValidateSigner calls f.
func (f ValidatorFunc) ValidateSigner(cert *x509.Certificate, intermediates []*x509.Certificate, at time.Time) error {
	return f(cert, intermediates, at)
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	Policy Policy
	// At is the verification time (certificate validity, timestamp freshness);
	// zero means now. Tests on expired interop vectors pass a fixed time.
	At time.Time
	// ClockSkew tolerated for wsu:Timestamp; default 5 minutes.
	ClockSkew time.Duration
	// Validator checks the signer certificate; nil skips the trust check.
	Validator CertificateValidator
	// Lookup resolves IssuerSerial / SKI / thumbprint references to
	// certificates not carried in the message.
	Lookup CertificateLookup
}

// Result is a verified signature.
type Result struct {
	Certificate   *x509.Certificate
	Intermediates []*x509.Certificate
	Token         TokenReference
	// TrustChecked is false when no Validator was given.
	TrustChecked    bool
	SignatureID     string
	SignatureMethod string
	// References are taken from the verified SignedInfo, in order; a receipt's
	// NonRepudiationInformation copies them.
	References []VerifiedReference
	// Signed reports what the signature covers.
	MessagingSigned bool
	BodySigned      bool
	// AttachmentsSigned lists the covered Content-IDs.
	AttachmentsSigned []string
}

// VerifiedReference is one checked ds:Reference.
type VerifiedReference struct {
	ebms.Reference
	// Target names what it resolved to: "eb:Messaging", "Body", "wsu:Timestamp",
	// another element's qualified name, or "attachment".
	Target string
	// Element is the verified ds:Reference from the canonical SignedInfo, for
	// copying into a receipt unchanged.
	Element *etree.Element
}

// Verify checks the message signature in the wsse:Security header against the
// policy, the anti-wrapping rules and the attachments (which must be the
// decrypted octets when the message was encrypted). On success the returned
// Result names the signer. Failures are *Error with EBMS:0101 (authentication)
// or EBMS:0103 (policy).
func Verify(env Envelope, attachments []Attachment, opts VerifyOptions) (*Result, error) {
	pol := opts.Policy
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	skew := opts.ClockSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if env.Root == nil || env.Body == nil {
		return nil, authError("envelope", "no SOAP Envelope/Body")
	}
	sec, err := FindSecurity(env.Header)
	if err != nil {
		return nil, err
	}
	var sig *etree.Element
	if sec != nil {
		sigs := childrenNS(sec, NSDS, "Signature")
		if len(sigs) > 1 {
			return nil, authError("signature-position", "the Security header holds %d ds:Signature elements, want one", len(sigs))
		}
		if len(sigs) == 1 {
			sig = sigs[0]
		}
	}
	if sig == nil {
		if stray := findDescendant(env.Root, NSDS, "Signature"); stray != nil {
			return nil, authError("signature-position", "a ds:Signature exists outside the wsse:Security header for the ultimate receiver")
		}
		return nil, policyError("unsigned", "the message is not signed")
	}

	ids, err := IndexIDs(env.Root)
	if err != nil {
		return nil, err
	}

	signedInfo, err := childNS(sig, NSDS, "SignedInfo")
	if err != nil || signedInfo == nil {
		return nil, authError("signed-info", "ds:Signature must hold exactly one ds:SignedInfo")
	}
	cm, _ := childNS(signedInfo, NSDS, "CanonicalizationMethod")
	if cm == nil || cm.SelectAttrValue("Algorithm", "") != AlgExcC14N {
		return nil, policyError("c14n-algorithm", "SignedInfo CanonicalizationMethod must be exclusive C14N")
	}
	prefixes, _, err := inclusivePrefixes(cm)
	if err != nil {
		return nil, err
	}
	sm, _ := childNS(signedInfo, NSDS, "SignatureMethod")
	if sm == nil {
		return nil, authError("signed-info", "no ds:SignatureMethod")
	}
	sigAlg := sm.SelectAttrValue("Algorithm", "")
	sigHash, err := pol.signatureHash(sigAlg)
	if err != nil {
		return nil, err
	}
	ki, _ := childNS(sig, NSDS, "KeyInfo")
	tok, err := ResolveKeyInfo(ki, sec, opts.Lookup)
	if err != nil {
		return nil, err
	}
	pub, ok := tok.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, policyError("signature-algorithm", "signer key is %T, %s needs RSA", tok.Certificate.PublicKey, sigAlg)
	}

	// Rule 1: the SignatureValue over the canonical SignedInfo first.
	canonSI, err := c14n.Canonicalize(signedInfo, prefixes)
	if err != nil {
		return nil, authError("signed-info", "canonicalizing SignedInfo: %v", err)
	}
	svEl, _ := childNS(sig, NSDS, "SignatureValue")
	if svEl == nil {
		return nil, authError("signature-value", "no ds:SignatureValue")
	}
	sv, err := base64.StdEncoding.DecodeString(stripSpace(svEl.Text()))
	if err != nil {
		return nil, authError("signature-value", "SignatureValue is not valid base64")
	}
	h := sigHash.New()
	h.Write(canonSI)
	if err := rsa.VerifyPKCS1v15(pub, sigHash, h.Sum(nil), sv); err != nil {
		return nil, authError("signature-value", "SignatureValue does not verify with the key of %s", tok.Certificate.Subject)
	}

	// From here on, only the verified bytes are used.
	verified := etree.NewDocument()
	if err := verified.ReadFromBytes(canonSI); err != nil {
		return nil, authError("signed-info", "re-reading verified SignedInfo: %v", err)
	}
	refs := childrenNS(verified.Root(), NSDS, "Reference")
	if len(refs) == 0 {
		return nil, authError("signed-info", "SignedInfo has no ds:Reference")
	}
	if pol.MaxReferences > 0 && len(refs) > pol.MaxReferences {
		return nil, policyError("reference-count", "SignedInfo has %d References, the limit is %d", len(refs), pol.MaxReferences)
	}

	res := &Result{
		Certificate:     tok.Certificate,
		Intermediates:   tok.Intermediates,
		Token:           tok.Reference,
		SignatureID:     sig.SelectAttrValue("Id", ""),
		SignatureMethod: sigAlg,
	}
	byCID := map[string]Attachment{}
	for _, a := range attachments {
		byCID[a.ContentID] = a
	}
	seenTargets := map[any]bool{}
	for _, refEl := range refs {
		vr, key, err := checkReference(refEl, env, sec, ids, byCID, pol)
		if err != nil {
			return nil, err
		}
		if seenTargets[key] {
			return nil, authError("duplicate-reference", "%s is referenced twice", vr.URI)
		}
		seenTargets[key] = true
		switch vr.Target {
		case "eb:Messaging":
			res.MessagingSigned = true
		case "Body":
			res.BodySigned = true
		case "attachment":
			res.AttachmentsSigned = append(res.AttachmentsSigned, key.(string)[len("cid:"):])
		}
		res.References = append(res.References, *vr)
	}

	// Rule 4: coverage.
	if pol.RequireBody && !res.BodySigned {
		return nil, policyError("coverage", "the SOAP Body is not signed")
	}
	if pol.RequireMessaging && !res.MessagingSigned {
		return nil, policyError("coverage", "eb:Messaging is not signed")
	}
	if pol.RequireAllAttachments {
		for _, a := range attachments {
			if !seenTargets[any(cidKey(a.ContentID))] {
				return nil, policyError("coverage", "attachment %q is not signed", a.ContentID)
			}
		}
	}

	if err := checkTimestamp(sec, at, skew); err != nil {
		return nil, err
	}

	// Rule 6: the key is trusted (chain, validity, revocation) at time at.
	if opts.Validator != nil {
		if err := opts.Validator.ValidateSigner(tok.Certificate, tok.Intermediates, at); err != nil {
			return nil, &Error{Code: ebms.CodeFailedAuthentication, Check: "certificate",
				Detail: fmt.Sprintf("signer %s is not trusted", tok.Certificate.Subject), Err: err}
		}
		res.TrustChecked = true
	}
	return res, nil
}

// cidKey is the map key under which an attachment reference is recorded.
func cidKey(contentID string) string { return "cid:" + contentID }

// checkReference verifies one Reference from the verified SignedInfo. key
// identifies its target (the element, or "cid:"+Content-ID) so that two
// References to one target are caught.
func checkReference(refEl *etree.Element, env Envelope, sec *etree.Element, ids IDIndex, byCID map[string]Attachment, pol Policy) (vr *VerifiedReference, key any, err error) {
	uri := refEl.SelectAttrValue("URI", "")
	vr = &VerifiedReference{Element: refEl}
	vr.URI = uri
	dm, _ := childNS(refEl, NSDS, "DigestMethod")
	dv, _ := childNS(refEl, NSDS, "DigestValue")
	if dm == nil || dv == nil {
		return nil, nil, authError("reference", "Reference %q lacks DigestMethod or DigestValue", uri)
	}
	vr.DigestAlgorithm = dm.SelectAttrValue("Algorithm", "")
	digHash, err := pol.digestHash(vr.DigestAlgorithm)
	if err != nil {
		return nil, nil, err
	}
	want, err := base64.StdEncoding.DecodeString(stripSpace(dv.Text()))
	if err != nil {
		return nil, nil, authError("reference", "Reference %q DigestValue is not valid base64", uri)
	}
	vr.DigestValue = want
	if trs, _ := childNS(refEl, NSDS, "Transforms"); trs != nil {
		for _, t := range trs.ChildElements() {
			if !is(t, NSDS, "Transform") {
				return nil, nil, authError("reference", "unexpected <%s> in ds:Transforms", t.FullTag())
			}
			ps, has, err := inclusivePrefixes(t)
			if err != nil {
				return nil, nil, err
			}
			tr := ebms.Transform{Algorithm: t.SelectAttrValue("Algorithm", "")}
			if has {
				tr.InclusiveNamespaces = &ebms.InclusiveNamespaces{PrefixList: ps}
			}
			vr.Transforms = append(vr.Transforms, tr)
		}
	}

	var got []byte
	switch {
	case strings.HasPrefix(uri, "#"):
		if len(vr.Transforms) != 1 || vr.Transforms[0].Algorithm != AlgExcC14N {
			return nil, nil, policyError("transform", "Reference %q must have exactly one exclusive C14N transform, has %s", uri, describeTransforms(vr.Transforms))
		}
		el, ok := ids.Resolve(uri)
		if !ok {
			return nil, nil, authError("reference", "Reference %q does not resolve to an element", uri)
		}
		target, err := checkPosition(el, env, sec)
		if err != nil {
			return nil, nil, err
		}
		vr.Target = target
		key = el
		var prefixes []string
		if in := vr.Transforms[0].InclusiveNamespaces; in != nil {
			prefixes = in.PrefixList
		}
		canon, err := c14n.Canonicalize(el, prefixes)
		if err != nil {
			return nil, nil, authError("reference", "canonicalizing %q: %v", uri, err)
		}
		d := digHash.New()
		d.Write(canon)
		got = d.Sum(nil)
	case strings.HasPrefix(uri, "cid:"):
		if len(vr.Transforms) != 1 || vr.Transforms[0].Algorithm != AlgAttachmentContentSignature {
			return nil, nil, policyError("transform", "Reference %q must have exactly the Attachment-Content-Signature-Transform, has %s", uri, describeTransforms(vr.Transforms))
		}
		cid, err := url.PathUnescape(strings.Trim(uri[len("cid:"):], "<>"))
		if err != nil {
			return nil, nil, authError("reference", "Reference %q: bad percent-encoding", uri)
		}
		a, ok := byCID[cid]
		if !ok {
			return nil, nil, authError("reference", "Reference %q names no MIME part", uri)
		}
		vr.Target = "attachment"
		key = cidKey(cid)
		got, err = digestAttachment(a, digHash)
		if err != nil {
			return nil, nil, authError("reference", "%v", err)
		}
	default:
		return nil, nil, policyError("reference", "Reference URI %q is neither same-document nor cid:", uri)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, nil, authError("digest", "digest of %s (%s) does not match", uri, vr.Target)
	}
	return vr, key, nil
}

// checkPosition enforces rule 3: a referenced element must sit at its one legal
// place. It returns a name for the target.
func checkPosition(el *etree.Element, env Envelope, sec *etree.Element) (string, error) {
	parent := el.Parent()
	switch {
	case el == env.Body:
		return "Body", nil
	case is(el, env.Body.NamespaceURI(), "Body"):
		return "", authError("reference-position", "the referenced Body is not the Envelope's Body")
	case el.Tag == "Messaging" && el.NamespaceURI() == nsEbMS:
		if parent != env.Header || env.Header == nil || env.Header.Parent() != env.Root {
			return "", authError("reference-position", "the referenced eb:Messaging is not a child of the SOAP Header")
		}
		return "eb:Messaging", nil
	case parent != nil && parent == sec:
		// wsu:Timestamp, BinarySecurityToken and the like, inside our header.
		return el.Space + ":" + el.Tag, nil
	case parent != nil && parent == env.Header:
		// Other header blocks (e.g. WS-Addressing in multi-hop).
		return el.Space + ":" + el.Tag, nil
	}
	return "", authError("reference-position", "referenced element <%s> is neither the Body nor a header block", el.FullTag())
}

// inclusivePrefixes reads an ec:InclusiveNamespaces child's PrefixList.
func inclusivePrefixes(parent *etree.Element) ([]string, bool, error) {
	in, err := childNS(parent, NSEC, "InclusiveNamespaces")
	if err != nil {
		return nil, false, authError("c14n", "%v", err)
	}
	if in == nil {
		return nil, false, nil
	}
	return c14n.ParsePrefixList(in.SelectAttrValue("PrefixList", "")), true, nil
}

func describeTransforms(ts []ebms.Transform) string {
	if len(ts) == 0 {
		return "none"
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Algorithm
	}
	return strings.Join(names, ", ")
}

func findDescendant(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			return c
		}
		if d := findDescendant(c, ns, local); d != nil {
			return d
		}
	}
	return nil
}

// checkTimestamp enforces wsu:Timestamp freshness when one is present.
func checkTimestamp(sec *etree.Element, at time.Time, skew time.Duration) error {
	ts, err := childNS(sec, NSWSU, "Timestamp")
	if err != nil {
		return authError("timestamp", "%v", err)
	}
	if ts == nil {
		return nil
	}
	if c, _ := childNS(ts, NSWSU, "Created"); c != nil {
		created, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(c.Text()))
		if err != nil {
			return authError("timestamp", "wsu:Created %q is not a dateTime", c.Text())
		}
		if created.After(at.Add(skew)) {
			return authError("timestamp", "wsu:Created %s lies in the future", created.Format(time.RFC3339))
		}
	}
	if e, _ := childNS(ts, NSWSU, "Expires"); e != nil {
		expires, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(e.Text()))
		if err != nil {
			return authError("timestamp", "wsu:Expires %q is not a dateTime", e.Text())
		}
		if expires.Before(at.Add(-skew)) {
			return authError("timestamp", "the message expired at %s", expires.Format(time.RFC3339))
		}
	}
	return nil
}
