package wssec

import (
	"crypto/rsa"
	"strings"

	"github.com/beevik/etree"
)

// Diagnosis is an operator's account of a message signature (as4gw inspect).
// Unlike Verify, which stops at the first failure, it looks at every part and
// records each result. It is an aid to debugging interop, never a verdict:
// acceptance is Verify's alone.
type Diagnosis struct {
	Signed           bool
	SignatureID      string
	SignatureMethod  string
	Canonicalization string
	// Token is the resolved signing certificate; TokenErr why it could not be.
	Token    *Token
	TokenErr error
	// SignatureValueErr is nil when the SignatureValue verified;
	// SignatureValueChecked is false when it could not be tried (no key).
	SignatureValueChecked bool
	SignatureValueErr     error
	References            []ReferenceDiagnosis
	// Err is a problem that prevented looking further (e.g. two Security
	// headers); nil otherwise.
	Err error
}

// ReferenceDiagnosis is one ds:Reference and what became of it.
type ReferenceDiagnosis struct {
	URI          string
	Target       string
	Transforms   []string
	DigestMethod string
	// Checked is false when the digest could not be computed for a reason
	// that is not the message's fault (Skipped says why, e.g. an attachment
	// still encrypted); Err is nil when the digest matched.
	Checked bool
	Skipped string
	Err     error
}

// Diagnose examines the signature in the Security header. Attachments named
// in unavailable (Content-ID → reason) are reported as not checked.
func Diagnose(env Envelope, attachments []Attachment, unavailable map[string]string, lookup CertificateLookup) *Diagnosis {
	d := &Diagnosis{}
	if err := checkEnvelopeShape(env); err != nil {
		d.Err = err
		return d
	}
	sec, err := FindSecurity(env.Header)
	if err != nil {
		d.Err = err
		return d
	}
	if sec == nil {
		return d
	}
	sigs := childrenNS(sec, NSDS, "Signature")
	if len(sigs) == 0 {
		return d
	}
	d.Signed = true
	if len(sigs) > 1 {
		d.Err = authError("signature-position", "the Security header holds %d ds:Signature elements, want one", len(sigs))
		return d
	}
	sig := sigs[0]
	d.SignatureID = sig.SelectAttrValue("Id", "")
	ids, idErr := IndexIDs(env.Root)
	signedInfo, _ := childNS(sig, NSDS, "SignedInfo")
	if signedInfo == nil {
		d.Err = authError("signed-info", "ds:Signature must hold exactly one ds:SignedInfo")
		return d
	}
	cm, sm, refs, err := signedInfoParts(signedInfo)
	if err != nil {
		d.Err = err
		return d
	}
	d.Canonicalization = cm.SelectAttrValue("Algorithm", "")
	d.SignatureMethod = sm.SelectAttrValue("Algorithm", "")

	ki, _ := childNS(sig, NSDS, "KeyInfo")
	d.Token, d.TokenErr = ResolveKeyInfo(ki, sec, lookup)
	if d.Token != nil {
		d.SignatureValueChecked = true
		d.SignatureValueErr = checkSignatureValue(sig, signedInfo, cm, d.SignatureMethod, d.Token)
	}

	// A diagnosis reports digests even for algorithms a P-Mode would refuse.
	pol := DefaultPolicy()
	pol.MaxReferences = 0
	byCID := make(map[string]Attachment, len(attachments))
	for _, a := range attachments {
		byCID[a.ContentID] = a
	}
	for _, refEl := range refs {
		rd := ReferenceDiagnosis{URI: refEl.SelectAttrValue("URI", "")}
		if dm, _ := childNS(refEl, NSDS, "DigestMethod"); dm != nil {
			rd.DigestMethod = dm.SelectAttrValue("Algorithm", "")
		}
		if trs, _ := childNS(refEl, NSDS, "Transforms"); trs != nil {
			for _, t := range childrenNS(trs, NSDS, "Transform") {
				rd.Transforms = append(rd.Transforms, t.SelectAttrValue("Algorithm", ""))
			}
		}
		if strings.HasPrefix(rd.URI, "cid:") {
			if cid, err := resolveCID(rd.URI, nil, true); err == nil {
				if reason, ok := unavailable[cid]; ok {
					rd.Target, rd.Skipped = TargetAttachmentUnchecked, reason
					d.References = append(d.References, rd)
					continue
				}
			}
		}
		rd.Checked = true
		if idErr != nil && strings.HasPrefix(rd.URI, "#") {
			rd.Err = idErr
		} else {
			_, _, rd.Err = checkReference(refEl, env, sec, ids, byCID, pol, false)
			rd.Target = targetName(rd.URI, env, sec, ids)
		}
		d.References = append(d.References, rd)
	}
	return d
}

// targetName says what a reference URI points at, for the report, whether or
// not its check passed.
func targetName(uri string, env Envelope, sec *etree.Element, ids IDIndex) string {
	if strings.HasPrefix(uri, "cid:") {
		return TargetAttachment
	}
	el, ok := ids.Resolve(uri)
	if !ok {
		return ""
	}
	if name, err := checkPosition(el, env, sec); err == nil {
		return name
	}
	return el.FullTag() + " (misplaced)"
}

func checkSignatureValue(sig, signedInfo, cm *etree.Element, sigAlg string, tok *Token) error {
	h, known := signatureHashes[sigAlg]
	if !known {
		return policyError("signature-algorithm", "unknown SignatureMethod %q", sigAlg)
	}
	pub, ok := tok.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return policyError("signature-algorithm", "signer key is %T, %s needs RSA", tok.Certificate.PublicKey, sigAlg)
	}
	prefixes, _, err := inclusivePrefixes(cm)
	if err != nil {
		return err
	}
	_, err = verifySignatureValue(sig, signedInfo, prefixes, h, pub, tok.Certificate)
	return err
}
