package inspect

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
)

// decrypt reports on the encryption and, given a key, decrypts the
// attachments in place. It returns the Content-IDs whose plaintext is not
// available, with the reason.
func (rep *Report) decrypt(env wssec.Envelope, msg *soap.Message, sec *SecurityReport, lookup *trust.CertificateIndex, opts Options) map[string]string {
	unavailable := map[string]string{}
	header, err := wssec.FindSecurity(env.Header)
	if err != nil || header == nil {
		return unavailable
	}
	keys := wssec.Children(header, wssec.NSXENC, "EncryptedKey")
	data := wssec.Children(header, wssec.NSXENC, "EncryptedData")
	if len(keys) == 0 && len(data) == 0 {
		return unavailable
	}
	sec.Encrypted = true
	enc := &EncryptionReport{}
	sec.Encryption = enc
	for _, k := range keys {
		if m := k.SelectElement("EncryptionMethod"); m != nil {
			enc.KeyTransport = m.SelectAttrValue("Algorithm", "")
		}
		if tok, err := wssec.ResolveKeyInfo(k.SelectElement("KeyInfo"), header, lookup); err == nil {
			enc.Recipient = tok.Certificate.Subject.String()
		} else {
			enc.Recipient = "not resolved: " + err.Error()
		}
	}
	methods := map[string]bool{}
	var encrypted []string
	for _, d := range data {
		if m := d.SelectElement("EncryptionMethod"); m != nil {
			methods[m.SelectAttrValue("Algorithm", "")] = true
		}
		if cd := d.SelectElement("CipherData"); cd != nil {
			if cr := cd.SelectElement("CipherReference"); cr != nil {
				uri := cr.SelectAttrValue("URI", "")
				if att, err := msg.AttachmentByCID(uri); err == nil {
					encrypted = append(encrypted, att.ContentID)
				} else {
					encrypted = append(encrypted, strings.TrimPrefix(uri, "cid:"))
				}
			}
		}
	}
	for m := range methods {
		enc.DataMethods = append(enc.DataMethods, m)
	}
	sort.Strings(enc.DataMethods)
	enc.EncryptedParts = encrypted

	markAll := func(reason string) {
		for _, cid := range encrypted {
			unavailable[cid] = reason
		}
	}
	if opts.Key == nil {
		enc.Decrypted = "not attempted: no --key given"
		markAll("encrypted; give --key to decrypt")
		return unavailable
	}
	id, err := identityFor(opts.Key, opts.Certificates, carriedCertificates(header))
	if err != nil {
		enc.Decrypted = "failed: " + err.Error()
		rep.fail("decrypt", "", err)
		markAll("encrypted; decryption failed")
		return unavailable
	}
	if _, err := xenc.DecryptAttachments(env, msg, id, xenc.DecryptOptions{Lookup: lookup}); err != nil {
		enc.Decrypted = "failed: " + err.Error()
		rep.fail("decrypt", codeOf(err), err)
		markAll("encrypted; decryption failed")
		return unavailable
	}
	enc.Decrypted = "ok"
	rep.pass("decrypt", fmt.Sprintf("%d attachment(s)", len(encrypted)))
	return unavailable
}

// signature reports every reference (wssec.Diagnose) and gives the verdict of
// wssec.Verify under the eDelivery AS4 policy.
func (rep *Report) signature(env wssec.Envelope, msg *soap.Message, sec *SecurityReport, unavailable map[string]string, lookup *trust.CertificateIndex, opts Options, at time.Time) {
	atts := wssec.AttachmentsFromSOAP(msg.Attachments)
	d := wssec.Diagnose(env, atts, unavailable, lookup)
	if d.Err != nil {
		rep.fail("signature", codeOf(d.Err), d.Err)
	}
	if !d.Signed {
		return
	}
	sec.Signed = true
	sr := &SignatureReport{
		SignatureMethod:  d.SignatureMethod,
		Canonicalization: d.Canonicalization,
		References:       []ReferenceReport{},
	}
	sec.Signature = sr
	switch {
	case d.TokenErr != nil:
		sr.SignatureValue = "unchecked"
		sr.Trust = "not checked: signer certificate not found"
		rep.fail("signer-certificate", codeOf(d.TokenErr), fmt.Errorf("%w (give the signer's certificate with --cert)", d.TokenErr))
	case d.SignatureValueErr != nil:
		sr.SignatureValue = "failed"
		rep.fail("signature-value", codeOf(d.SignatureValueErr), d.SignatureValueErr)
	default:
		sr.SignatureValue = "ok"
		rep.pass("signature-value", "")
	}
	if d.Token != nil {
		sr.TokenReference = string(d.Token.Reference)
		sr.Signer = certificateReport(d.Token.Certificate)
		if opts.Trust == nil {
			sr.Trust = "not checked: no --trust given (the signature was checked with the certificate the message names)"
		} else if _, err := opts.Trust.Verify(d.Token.Certificate, d.Token.Intermediates, trust.VerifyOptions{At: at, KeyUsage: trust.KeyUsageSigning}); err != nil {
			sr.Trust = "failed: " + err.Error()
			rep.fail("signer-trust", string(ebms.CodeFailedAuthentication), err)
		} else {
			sr.Trust = "ok"
			rep.pass("signer-trust", "at "+at.UTC().Format(time.RFC3339))
		}
	}
	for _, r := range d.References {
		rr := ReferenceReport{URI: r.URI, Target: r.Target, Transforms: r.Transforms, DigestMethod: r.DigestMethod}
		switch {
		case !r.Checked:
			rr.Result, rr.Detail = "unchecked", r.Skipped
		case r.Err != nil:
			rr.Result, rr.Detail = "failed", r.Err.Error()
			rep.fail("reference "+r.URI, codeOf(r.Err), r.Err)
		default:
			rr.Result = "ok"
		}
		sr.References = append(sr.References, rr)
	}

	// The verdict a gateway with an eDelivery AS4 leg would reach.
	pol := wssec.DefaultPolicy()
	vopts := wssec.VerifyOptions{Policy: pol, At: at, Lookup: lookup, SkipAttachmentDigests: len(unavailable) > 0}
	if len(unavailable) > 0 {
		vopts.Policy.RequireAllAttachments = false
	}
	if opts.Trust != nil {
		vopts.Validator = wssec.ValidatorFunc(func(c *x509.Certificate, inter []*x509.Certificate, at time.Time) error {
			_, err := opts.Trust.Verify(c, inter, trust.VerifyOptions{At: at, KeyUsage: trust.KeyUsageSigning})
			return err
		})
	}
	if _, err := wssec.Verify(env, atts, vopts); err != nil {
		rep.fail("signature (eDelivery AS4 policy)", codeOf(err), err)
	} else {
		detail := "Messaging, Body and every attachment signed"
		if len(unavailable) > 0 {
			detail = "Messaging and Body signed; attachment digests not checkable"
		}
		rep.pass("signature (eDelivery AS4 policy)", detail)
	}
}

// payloads reports each attachment after decryption and decompression.
func (rep *Report) payloads(msg *soap.Message, m *ebms.Messaging, unavailable map[string]string, wireSizes map[string]int64, opts Options) {
	parts := map[string]*ebms.PartInfo{}
	if m != nil && m.UserMessage != nil {
		for i := range m.UserMessage.PayloadInfo {
			pi := &m.UserMessage.PayloadInfo[i]
			if cid, ok := pi.ContentID(); ok {
				parts[cid] = pi
			} else {
				rep.Payloads = append(rep.Payloads, PayloadReport{ID: pi.Href, MimeType: pi.MimeType(), Note: "in the SOAP Body"})
			}
		}
	}
	for _, att := range msg.Attachments {
		pr := PayloadReport{ID: att.ContentID, MimeType: att.ContentType, WireSize: wireSizes[att.ContentID]}
		pi := parts[att.ContentID]
		if pi != nil {
			if mt := pi.MimeType(); mt != "" {
				pr.MimeType = mt
			}
			pr.Compression = pi.CompressionType()
		} else if m != nil && m.UserMessage != nil {
			pr.Note = "no eb:PartInfo names this part"
		}
		if reason, ok := unavailable[att.ContentID]; ok {
			pr.Encrypted = true
			pr.Note = reason
			rep.Payloads = append(rep.Payloads, pr)
			continue
		}
		size, sum, err := payloadDigest(att, pi, opts.Limits.WithDefaults().MaxDecompressedBytes)
		if err != nil {
			rep.fail("payload "+att.ContentID, codeOf(err), err)
			pr.Note = err.Error()
		} else {
			pr.Size, pr.SHA256 = &size, sum
		}
		rep.Payloads = append(rep.Payloads, pr)
	}
}

func payloadDigest(att *soap.Attachment, pi *ebms.PartInfo, maxDecompressed int64) (int64, string, error) {
	var rc io.ReadCloser
	var err error
	if pi != nil {
		rc, err = xenc.OpenPayload(att, pi, maxDecompressed)
	} else {
		rc, err = att.Open()
	}
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// carriedCertificates returns the X509v3 tokens in a Security header.
func carriedCertificates(header *etree.Element) []*x509.Certificate {
	var out []*x509.Certificate
	for _, bst := range wssec.Children(header, wssec.NSWSSE, "BinarySecurityToken") {
		if bst.SelectAttrValue("ValueType", "") != wssec.ValueTypeX509v3 {
			continue
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(bst.Text()), ""))
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}
