package wssec

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	// SkipAttachmentDigests is for diagnostics only (inspecting a captured
	// message whose attachments are encrypted for someone else or were not
	// stored): cid: References are still checked against the policy
	// (DigestMethod, transform) but neither resolved nor digested; they are
	// listed in Result.AttachmentsUnchecked, never in AttachmentsSigned, so
	// a policy with RequireAllAttachments still fails when parts are given.
	// Never set it on the receive path.
	SkipAttachmentDigests bool
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
	// AttachmentsUnchecked lists the Content-IDs of cid: References whose
	// digests were not checked (VerifyOptions.SkipAttachmentDigests).
	AttachmentsUnchecked []string
}

// VerifiedReference is one checked ds:Reference.
type VerifiedReference struct {
	ebms.Reference
	// Target names what it resolved to: "eb:Messaging", "Body", "wsu:Timestamp",
	// another element's qualified name, "attachment", or "attachment-unchecked"
	// (VerifyOptions.SkipAttachmentDigests).
	Target string
	// Element is the verified ds:Reference from the canonical SignedInfo, for
	// copying into a receipt unchanged.
	Element *etree.Element
}

// Target names used in VerifiedReference.Target.
const (
	TargetMessaging           = "eb:Messaging"
	TargetBody                = "Body"
	TargetAttachment          = "attachment"
	TargetAttachmentUnchecked = "attachment-unchecked"
)

// Verify checks the message signature in the wsse:Security header against the
// policy, the anti-wrapping rules and the attachments (which must be the
// decrypted octets when the message was encrypted). On success the returned
// Result names the signer. Failures are *Error with EBMS:0101 (authentication)
// or EBMS:0103 (policy); Error.Check names the rule.
//
// Order: envelope shape; one Security header and one ds:Signature in it;
// unique IDs; SignedInfo structure and algorithms against the policy (these
// checks only ever reject, so they may read the not yet verified SignedInfo:
// a disallowed algorithm is reported as EBMS:0103 even when the signature is
// also broken); token; SignatureValue; then every Reference is taken again
// from the verified canonical SignedInfo bytes, resolved, position-checked and
// digested; coverage; wsu:Timestamp; signer trust.
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
	if err := checkEnvelopeShape(env); err != nil {
		return nil, err
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
		// A signature elsewhere in the header (another header block, a
		// Security header for another role) must not pass as "unsigned"
		// when the policy does not require signing, nor be mistaken for
		// ours. Signatures inside the Body belong to the payload (a signed
		// invoice) and are not ours to judge.
		if env.Header != nil {
			if stray := findDescendant(env.Header, NSDS, "Signature"); stray != nil {
				return nil, authError("signature-position", "a ds:Signature exists outside the wsse:Security header for the ultimate receiver")
			}
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
	cm, sm, rawRefs, err := signedInfoParts(signedInfo)
	if err != nil {
		return nil, err
	}
	if cm.SelectAttrValue("Algorithm", "") != AlgExcC14N {
		return nil, policyError("c14n-algorithm", "SignedInfo CanonicalizationMethod %q is not exclusive C14N", cm.SelectAttrValue("Algorithm", ""))
	}
	prefixes, _, err := inclusivePrefixes(cm)
	if err != nil {
		return nil, err
	}
	sigAlg := sm.SelectAttrValue("Algorithm", "")
	sigHash, err := pol.signatureHash(sigAlg)
	if err != nil {
		return nil, err
	}
	// Early policy checks on the raw SignedInfo: they can only reject.
	if err := checkReferenceCount(len(rawRefs), pol); err != nil {
		return nil, err
	}
	for _, r := range rawRefs {
		if _, _, err := parseReference(r, pol); err != nil {
			return nil, err
		}
	}

	ki, err := childNS(sig, NSDS, "KeyInfo")
	if err != nil {
		return nil, authError("key-info", "%v", err)
	}
	tok, err := ResolveKeyInfo(ki, sec, opts.Lookup)
	if err != nil {
		return nil, err
	}
	pub, ok := tok.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, policyError("signature-algorithm", "signer key is %T, %s needs RSA", tok.Certificate.PublicKey, sigAlg)
	}

	// Rule 1: the SignatureValue over the canonical SignedInfo first.
	canonSI, err := verifySignatureValue(sig, signedInfo, prefixes, sigHash, pub, tok.Certificate)
	if err != nil {
		return nil, err
	}

	// From here on, only the verified bytes are used.
	verified := etree.NewDocument()
	if err := verified.ReadFromBytes(canonSI); err != nil {
		return nil, authError("signed-info", "re-reading verified SignedInfo: %v", err)
	}
	_, vsm, refs, err := signedInfoParts(verified.Root())
	if err != nil {
		return nil, err
	}
	if vsm.SelectAttrValue("Algorithm", "") != sigAlg {
		return nil, authError("signed-info", "verified SignedInfo differs from the one parsed")
	}
	if err := checkReferenceCount(len(refs), pol); err != nil {
		return nil, err
	}

	res := &Result{
		Certificate:     tok.Certificate,
		Intermediates:   tok.Intermediates,
		Token:           tok.Reference,
		SignatureID:     sig.SelectAttrValue("Id", ""),
		SignatureMethod: sigAlg,
	}
	byCID := make(map[string]Attachment, len(attachments))
	for _, a := range attachments {
		if _, dup := byCID[a.ContentID]; dup {
			return nil, authError("duplicate-content-id", "two MIME parts have the Content-ID %q", a.ContentID)
		}
		byCID[a.ContentID] = a
	}
	seenTargets := map[any]bool{}
	for _, refEl := range refs {
		vr, key, err := checkReference(refEl, env, sec, ids, byCID, pol, opts.SkipAttachmentDigests)
		if err != nil {
			return nil, err
		}
		if seenTargets[key] {
			return nil, authError("duplicate-reference", "%s is referenced twice", vr.URI)
		}
		seenTargets[key] = true
		switch vr.Target {
		case TargetMessaging:
			res.MessagingSigned = true
		case TargetBody:
			res.BodySigned = true
		case TargetAttachment:
			res.AttachmentsSigned = append(res.AttachmentsSigned, key.(string)[len("cid:"):])
		case TargetAttachmentUnchecked:
			res.AttachmentsUnchecked = append(res.AttachmentsUnchecked, key.(string)[len("cid:"):])
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
			if !slices.Contains(res.AttachmentsSigned, a.ContentID) || a.ContentID == "" {
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

// verifySignatureValue canonicalizes SignedInfo and checks the SignatureValue
// over it with pub; it returns the verified canonical bytes.
func verifySignatureValue(sig, signedInfo *etree.Element, prefixes []string, h crypto.Hash, pub *rsa.PublicKey, cert *x509.Certificate) ([]byte, error) {
	canon, err := c14n.Canonicalize(signedInfo, prefixes)
	if err != nil {
		return nil, authError("signed-info", "canonicalizing SignedInfo: %v", err)
	}
	svEl, err := childNS(sig, NSDS, "SignatureValue")
	if err != nil || svEl == nil {
		return nil, authError("signature-value", "ds:Signature must hold exactly one ds:SignatureValue")
	}
	sv, err := base64.StdEncoding.DecodeString(stripSpace(svEl.Text()))
	if err != nil {
		return nil, authError("signature-value", "SignatureValue is not valid base64")
	}
	d := h.New()
	d.Write(canon)
	if err := rsa.VerifyPKCS1v15(pub, h, d.Sum(nil), sv); err != nil {
		return nil, authError("signature-value", "SignatureValue does not verify with the key of %s", cert.Subject)
	}
	return canon, nil
}

// checkEnvelopeShape makes sure env names the Envelope's own Header and Body,
// so that "the Body" in the position checks is the one the ebMS layer reads.
func checkEnvelopeShape(env Envelope) error {
	if env.Root == nil || env.Body == nil {
		return authError("envelope", "no SOAP Envelope/Body")
	}
	ns := env.Root.NamespaceURI()
	if env.Root.Tag != "Envelope" || (ns != NSSOAP12 && ns != NSSOAP11) {
		return authError("envelope", "root element <%s> is not a SOAP Envelope", env.Root.FullTag())
	}
	if env.Body.Parent() != env.Root || !is(env.Body, ns, "Body") || len(childrenNS(env.Root, ns, "Body")) != 1 {
		return authError("envelope", "the Envelope must have exactly one Body, and it must be the one given")
	}
	if env.Header != nil && (env.Header.Parent() != env.Root || !is(env.Header, ns, "Header") || len(childrenNS(env.Root, ns, "Header")) != 1) {
		return authError("envelope", "the Envelope must have at most one Header, and it must be the one given")
	}
	if env.Header == nil && len(childrenNS(env.Root, ns, "Header")) != 0 {
		return authError("envelope", "the Envelope has a Header that was not given")
	}
	return nil
}

// signedInfoParts checks the structure of a ds:SignedInfo (exactly one
// CanonicalizationMethod, then one SignatureMethod, then References, nothing
// else) and returns its parts.
func signedInfoParts(si *etree.Element) (cm, sm *etree.Element, refs []*etree.Element, err error) {
	for i, c := range si.ChildElements() {
		switch {
		case i == 0 && is(c, NSDS, "CanonicalizationMethod"):
			cm = c
		case i == 1 && is(c, NSDS, "SignatureMethod"):
			sm = c
		case i >= 2 && is(c, NSDS, "Reference"):
			refs = append(refs, c)
		default:
			return nil, nil, nil, authError("signed-info", "unexpected <%s> at position %d of ds:SignedInfo", c.FullTag(), i+1)
		}
	}
	if cm == nil || sm == nil {
		return nil, nil, nil, authError("signed-info", "ds:SignedInfo lacks CanonicalizationMethod or SignatureMethod")
	}
	if len(refs) == 0 {
		return nil, nil, nil, authError("signed-info", "SignedInfo has no ds:Reference")
	}
	return cm, sm, refs, nil
}

func checkReferenceCount(n int, pol Policy) error {
	if pol.MaxReferences > 0 && n > pol.MaxReferences {
		return policyError("reference-count", "SignedInfo has %d References, the limit is %d", n, pol.MaxReferences)
	}
	return nil
}

// IsUnsigned reports whether Verify failed only because the message carries no
// signature at all (EBMS:0103, Check "unsigned"). A leg whose policy does not
// require signing (Policy.RequireSignature false) may accept such a message;
// every other failure, including a ds:Signature found in the wrong place, is
// never "unsigned".
func IsUnsigned(err error) bool {
	var we *Error
	return errors.As(err, &we) && we.Check == "unsigned"
}

// cidKey is the map key under which an attachment reference is recorded.
func cidKey(contentID string) string { return "cid:" + contentID }

// parseReference reads a ds:Reference and applies the policy to it: allowed
// DigestMethod, and exactly the one transform its kind of URI allows
// (exclusive C14N for "#id", the Attachment-Content-Signature-Transform for
// "cid:"). It does not resolve or digest anything.
func parseReference(refEl *etree.Element, pol Policy) (*VerifiedReference, crypto.Hash, error) {
	uri := refEl.SelectAttrValue("URI", "")
	vr := &VerifiedReference{Element: refEl}
	vr.URI = uri
	var trs, dm, dv *etree.Element
	for i, c := range refEl.ChildElements() {
		switch {
		case i == 0 && is(c, NSDS, "Transforms"):
			trs = c
		case dm == nil && dv == nil && is(c, NSDS, "DigestMethod"):
			dm = c
		case dm != nil && dv == nil && is(c, NSDS, "DigestValue"):
			dv = c
		default:
			return nil, 0, authError("reference", "Reference %q: unexpected <%s>", uri, c.FullTag())
		}
	}
	if dm == nil || dv == nil {
		return nil, 0, authError("reference", "Reference %q lacks DigestMethod or DigestValue", uri)
	}
	vr.DigestAlgorithm = dm.SelectAttrValue("Algorithm", "")
	digHash, err := pol.digestHash(vr.DigestAlgorithm)
	if err != nil {
		return nil, 0, err
	}
	want, err := base64.StdEncoding.DecodeString(stripSpace(dv.Text()))
	if err != nil || len(want) != digHash.Size() {
		return nil, 0, authError("reference", "Reference %q DigestValue is not a base64 %s digest", uri, digHash)
	}
	vr.DigestValue = want
	if trs != nil {
		for _, t := range trs.ChildElements() {
			if !is(t, NSDS, "Transform") {
				return nil, 0, authError("reference", "unexpected <%s> in ds:Transforms", t.FullTag())
			}
			tr := ebms.Transform{Algorithm: t.SelectAttrValue("Algorithm", "")}
			if tr.Algorithm == AlgExcC14N {
				ps, has, err := inclusivePrefixes(t)
				if err != nil {
					return nil, 0, err
				}
				if has {
					tr.InclusiveNamespaces = &ebms.InclusiveNamespaces{PrefixList: ps}
				}
			}
			vr.Transforms = append(vr.Transforms, tr)
		}
	}
	switch {
	case strings.HasPrefix(uri, "#") && len(uri) > 1:
		if len(vr.Transforms) != 1 || vr.Transforms[0].Algorithm != AlgExcC14N {
			return nil, 0, policyError("transform", "Reference %q must have exactly one exclusive C14N transform, has %s", uri, describeTransforms(vr.Transforms))
		}
	case strings.HasPrefix(uri, "cid:") && len(uri) > len("cid:"):
		if len(vr.Transforms) != 1 || vr.Transforms[0].Algorithm != AlgAttachmentContentSignature {
			return nil, 0, policyError("transform", "Reference %q must have exactly the Attachment-Content-Signature-Transform, has %s", uri, describeTransforms(vr.Transforms))
		}
	default:
		return nil, 0, policyError("reference-uri", "Reference URI %q is neither a same-document \"#id\" nor a \"cid:\" reference", uri)
	}
	return vr, digHash, nil
}

// checkReference verifies one Reference from the verified SignedInfo. key
// identifies its target (the element, or "cid:"+Content-ID) so that two
// References to one target are caught.
func checkReference(refEl *etree.Element, env Envelope, sec *etree.Element, ids IDIndex, byCID map[string]Attachment, pol Policy, skipAttachments bool) (vr *VerifiedReference, key any, err error) {
	vr, digHash, err := parseReference(refEl, pol)
	if err != nil {
		return nil, nil, err
	}
	uri := vr.URI
	var got []byte
	if strings.HasPrefix(uri, "#") {
		el, ok := ids.Resolve(uri)
		if !ok {
			return nil, nil, authError("reference-unresolved", "Reference %q does not resolve to an element", uri)
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
		d := digHash.New()
		if err := c14n.CanonicalizeTo(d, el, c14n.Options{InclusivePrefixes: prefixes}); err != nil {
			return nil, nil, authError("reference", "canonicalizing %q: %v", uri, err)
		}
		got = d.Sum(nil)
	} else {
		cid, err := resolveCID(uri, byCID, skipAttachments)
		if err != nil {
			return nil, nil, err
		}
		key = cidKey(cid)
		if skipAttachments {
			vr.Target = TargetAttachmentUnchecked
			return vr, key, nil
		}
		vr.Target = TargetAttachment
		ok, err := attachmentDigestMatches(byCID[cid], digHash, vr.DigestValue)
		if err != nil {
			return nil, nil, &Error{Code: ebms.CodeFailedAuthentication, Check: "attachment-content",
				Detail: fmt.Sprintf("cannot digest the part named by %s", uri), Err: err}
		}
		if !ok {
			return nil, nil, authError("digest", "digest of %s (%s) does not match", uri, vr.Target)
		}
		return vr, key, nil
	}
	if subtle.ConstantTimeCompare(got, vr.DigestValue) != 1 {
		return nil, nil, authError("digest", "digest of %s (%s) does not match", uri, vr.Target)
	}
	return vr, key, nil
}

// resolveCID maps a "cid:" URI to the Content-ID of exactly one part (rule 4):
// angle brackets stripped, %hh escapes decoded as RFC 2392 requires; a
// Content-ID that itself contains '%' and was referenced unescaped matches
// too, but only when that is unambiguous. Without parts to resolve against
// (skip) it returns the decoded Content-ID.
func resolveCID(uri string, byCID map[string]Attachment, skip bool) (string, error) {
	raw := uri[len("cid:"):]
	if strings.HasPrefix(raw, "<") && strings.HasSuffix(raw, ">") {
		raw = raw[1 : len(raw)-1]
	}
	decoded, decErr := url.PathUnescape(raw)
	if raw == "" || (decErr == nil && decoded == "") {
		return "", policyError("reference-uri", "Reference %q names no Content-ID", uri)
	}
	if skip {
		if decErr != nil {
			return raw, nil
		}
		return decoded, nil
	}
	_, rawOK := byCID[raw]
	_, decOK := byCID[decoded]
	switch {
	case decErr == nil && decOK && rawOK && raw != decoded:
		return "", authError("reference-unresolved", "Reference %q matches two MIME parts (%q and %q)", uri, raw, decoded)
	case decErr == nil && decOK:
		return decoded, nil
	case rawOK:
		return raw, nil
	}
	return "", authError("reference-unresolved", "Reference %q names no MIME part", uri)
}

// checkPosition enforces rule 3: a referenced element must sit at its one legal
// place. It returns a name for the target.
func checkPosition(el *etree.Element, env Envelope, sec *etree.Element) (string, error) {
	parent := el.Parent()
	switch {
	case el == env.Body:
		return TargetBody, nil
	case is(el, env.Body.NamespaceURI(), "Body"):
		return "", authError("reference-position", "the referenced Body is not the Envelope's Body")
	case el.Tag == "Messaging" && el.NamespaceURI() == nsEbMS:
		if parent != env.Header || env.Header == nil || env.Header.Parent() != env.Root {
			return "", authError("reference-position", "the referenced eb:Messaging is not a child of the SOAP Header")
		}
		if n := len(childrenNS(env.Header, nsEbMS, "Messaging")); n != 1 {
			return "", authError("reference-position", "the SOAP Header holds %d eb:Messaging elements, want one", n)
		}
		return TargetMessaging, nil
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
