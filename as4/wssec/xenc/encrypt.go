package xenc

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/trust"
)

// ContentTypeEncrypted is the Content-Type of an encrypted MIME part.
const ContentTypeEncrypted = "application/octet-stream"

// KeyReference selects how the EncryptedKey names the recipient certificate.
type KeyReference int

const (
	// RefBST adds the recipient certificate as an X509v3 BinarySecurityToken
	// (or reuses one already in the header) and references it (phase4 style,
	// the default).
	RefBST KeyReference = iota
	// RefIssuerSerial uses ds:X509Data/ds:X509IssuerSerial (Holodeck style).
	RefIssuerSerial
	// RefSKI uses a wsse:KeyIdentifier of type X509SubjectKeyIdentifier
	// (Domibus style).
	RefSKI
	// RefThumbprint uses a wsse:KeyIdentifier of type ThumbprintSHA1.
	RefThumbprint
)

// PlainAttachment is one attachment to encrypt: the octets that were signed
// (compressed if AS4 compression is on).
type PlainAttachment struct {
	// ContentID without "cid:" and without angle brackets.
	ContentID string
	// ContentType is the part's Content-Type as it would be sent unencrypted
	// (application/gzip for a compressed payload). It becomes the
	// EncryptedData MimeType, from which the receiver restores it.
	ContentType string
	// Open returns the octets from the start. It is called once per
	// EncryptedPart.WriteTo or Reader, so a send that is retried can call it
	// again.
	Open func() (io.ReadCloser, error)
}

// EncryptOptions configures EncryptAttachments. The zero value is the
// eDelivery AS4 1.15 profile: AES-128-GCM, RSA-OAEP with MGF1-SHA256 and
// SHA-256, recipient certificate as a BinarySecurityToken.
type EncryptOptions struct {
	// DataAlgorithm is aesgcm.AES128GCM (default), AES192GCM or AES256GCM.
	DataAlgorithm string
	// KeyTransport selects the RSA-OAEP variant; the zero value means
	// aesgcm.EDeliveryOAEP.
	KeyTransport aesgcm.OAEPParams
	// KeyReference says how to name the recipient certificate.
	KeyReference KeyReference
}

// EncryptResult is the outcome of EncryptAttachments: the IDs written into
// the header and, per attachment, the encrypted MIME part to send. It holds
// the content encryption key until Destroy is called.
type EncryptResult struct {
	EncryptedKeyID string
	// Parts are in the order of the attachments given.
	Parts []*EncryptedPart

	key []byte
}

// EncryptedPart is one encrypted MIME part. Its body (IV ‖ ciphertext ‖ tag)
// is produced on demand from the PlainAttachment, with a fresh random IV each
// time, so it is never held in memory.
type EncryptedPart struct {
	ContentID string
	// ContentType is the MIME part's Content-Type: application/octet-stream.
	ContentType string
	// MimeType is the original Content-Type, as written in EncryptedData.
	MimeType        string
	EncryptedDataID string

	plain PlainAttachment
	res   *EncryptResult
}

// EncryptAttachments encrypts the attachments for recipient (an RSA
// certificate, normally from the SMP or the P-Mode, already validated) and
// adds to the wsse:Security header (created if absent): the recipient token
// if RefBST, one xenc:EncryptedKey with a ReferenceList, and one
// xenc:EncryptedData per attachment, all placed before ds:Signature (WSS4J
// order) or at the end of the header when the message is not signed. Call it
// after wssec.Sign. Nothing is encrypted yet: the returned parts encrypt
// while they are written, with a fresh random key per call of this function.
//
// With no attachments there is nothing to encrypt: the header is left alone
// and the result has no parts and no EncryptedKeyID.
func EncryptAttachments(env wssec.Envelope, atts []PlainAttachment, recipient *x509.Certificate, opts EncryptOptions) (*EncryptResult, error) {
	if env.Root == nil || env.Header == nil {
		return nil, errors.New("xenc: envelope needs a SOAP Header")
	}
	if recipient == nil {
		return nil, errors.New("xenc: no recipient certificate")
	}
	pub, ok := recipient.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("xenc: recipient key is %T; RSA-OAEP key transport needs RSA", recipient.PublicKey)
	}
	dataAlg := opts.DataAlgorithm
	if dataAlg == "" {
		dataAlg = aesgcm.AES128GCM
	}
	keySize, err := aesgcm.KeySize(dataAlg)
	if err != nil {
		return nil, fmt.Errorf("xenc: %w", err)
	}
	params := opts.KeyTransport
	if params == (aesgcm.OAEPParams{}) {
		params = aesgcm.EDeliveryOAEP
	}
	seen := make(map[string]bool, len(atts))
	for _, a := range atts {
		switch {
		case a.ContentID == "":
			return nil, errors.New("xenc: attachment without Content-ID")
		case seen[a.ContentID]:
			return nil, fmt.Errorf("xenc: duplicate Content-ID <%s>", a.ContentID)
		case a.Open == nil:
			return nil, fmt.Errorf("xenc: attachment <%s> has no content", a.ContentID)
		}
		seen[a.ContentID] = true
	}
	if len(atts) == 0 {
		return &EncryptResult{}, nil
	}

	sec, err := wssec.FindSecurity(env.Header)
	if err != nil {
		return nil, err
	}
	if sec != nil && (len(childrenNS(sec, wssec.NSXENC, "EncryptedKey")) > 0 || len(childrenNS(sec, wssec.NSXENC, "EncryptedData")) > 0) {
		return nil, errors.New("xenc: the Security header already holds encryption elements")
	}

	// Everything that can fail on bad options fails before the header is
	// touched.
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("xenc: generating the content key: %w", err)
	}
	wrapped, err := aesgcm.WrapKey(pub, key, params)
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("xenc: wrapping the content key: %w", err)
	}
	if sec, err = wssec.EnsureSecurity(env.Header, env.Root.Space); err != nil {
		clear(key)
		return nil, err
	}

	res := &EncryptResult{EncryptedKeyID: wssec.NewID("EK"), key: key}
	var elements []*etree.Element
	keyInfo, bst := recipientKeyInfo(sec, recipient, opts.KeyReference)
	if bst != nil {
		elements = append(elements, bst)
	}
	ek := buildEncryptedKey(sec, res.EncryptedKeyID, params, keyInfo, wrapped)
	elements = append(elements, ek)
	refList := ek.CreateElement("xenc:ReferenceList")
	for _, a := range atts {
		p := &EncryptedPart{
			ContentID:       a.ContentID,
			ContentType:     ContentTypeEncrypted,
			MimeType:        a.ContentType,
			EncryptedDataID: wssec.NewID("ED"),
			plain:           a,
			res:             res,
		}
		if p.MimeType == "" {
			p.MimeType = "application/octet-stream"
		}
		refList.CreateElement("xenc:DataReference").CreateAttr("URI", "#"+p.EncryptedDataID)
		elements = append(elements, buildEncryptedData(sec, p, dataAlg, res.EncryptedKeyID))
		res.Parts = append(res.Parts, p)
	}

	// WSS4J order: the encryption elements go before the signature, so a
	// receiver processing the header in order decrypts before it verifies.
	at := -1
	if sigs := childrenNS(sec, wssec.NSDS, "Signature"); len(sigs) > 0 {
		at = sigs[0].Index()
	}
	for _, el := range elements {
		if at < 0 {
			sec.AddChild(el)
			continue
		}
		sec.InsertChildAt(at, el)
		at++
	}
	return res, nil
}

// recipientKeyInfo builds the EncryptedKey's ds:KeyInfo and, for RefBST, the
// token to add (nil if the header already has one with the certificate).
func recipientKeyInfo(sec *etree.Element, cert *x509.Certificate, ref KeyReference) (keyInfo, bst *etree.Element) {
	keyInfo = etree.NewElement("ds:KeyInfo")
	keyInfo.CreateAttr("xmlns:ds", wssec.NSDS)
	str := keyInfo.CreateElement("wsse:SecurityTokenReference")
	if !boundTo(sec, "wsse", wssec.NSWSSE) {
		str.CreateAttr("xmlns:wsse", wssec.NSWSSE)
	}
	switch ref {
	case RefIssuerSerial:
		is := str.CreateElement("ds:X509Data").CreateElement("ds:X509IssuerSerial")
		is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
		is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())
	case RefSKI, RefThumbprint:
		ki := str.CreateElement("wsse:KeyIdentifier")
		ki.CreateAttr("EncodingType", wssec.EncodingTypeBase64)
		if ref == RefSKI {
			ki.CreateAttr("ValueType", wssec.ValueTypeSKI)
			ki.SetText(base64.StdEncoding.EncodeToString(trust.SubjectKeyID(cert)))
		} else {
			ki.CreateAttr("ValueType", wssec.ValueTypeThumbprint)
			ki.SetText(base64.StdEncoding.EncodeToString(trust.ThumbprintSHA1(cert)))
		}
	default:
		id := existingBST(sec, cert)
		if id == "" {
			bst = etree.NewElement("wsse:BinarySecurityToken")
			if !boundTo(sec, "wsse", wssec.NSWSSE) {
				bst.CreateAttr("xmlns:wsse", wssec.NSWSSE)
			}
			if !boundTo(sec, "wsu", wssec.NSWSU) {
				bst.CreateAttr("xmlns:wsu", wssec.NSWSU)
			}
			bst.CreateAttr("EncodingType", wssec.EncodingTypeBase64)
			bst.CreateAttr("ValueType", wssec.ValueTypeX509v3)
			id = wssec.NewID("X509")
			bst.CreateAttr("wsu:Id", id)
			bst.SetText(base64.StdEncoding.EncodeToString(cert.Raw))
		}
		r := str.CreateElement("wsse:Reference")
		r.CreateAttr("URI", "#"+id)
		r.CreateAttr("ValueType", wssec.ValueTypeX509v3)
	}
	return keyInfo, bst
}

// existingBST returns the ID of an X509v3 token in the header that holds
// cert (the signing token, when we encrypt for our own certificate in tests
// or loopback), or "".
func existingBST(sec *etree.Element, cert *x509.Certificate) string {
	for _, b := range childrenNS(sec, wssec.NSWSSE, "BinarySecurityToken") {
		if vt, _ := attr(b, "ValueType"); vt != wssec.ValueTypeX509v3 {
			continue
		}
		der, err := base64.StdEncoding.DecodeString(stripSpace(b.Text()))
		if err != nil || !bytes.Equal(der, cert.Raw) {
			continue
		}
		if id, ok := wssec.IDOf(b); ok {
			return id
		}
	}
	return ""
}

func buildEncryptedKey(sec *etree.Element, id string, params aesgcm.OAEPParams, keyInfo *etree.Element, wrapped []byte) *etree.Element {
	ek := etree.NewElement("xenc:EncryptedKey")
	ek.CreateAttr("xmlns:xenc", wssec.NSXENC)
	ek.CreateAttr("Id", id)
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", params.Algorithm)
	dm := em.CreateElement("ds:DigestMethod")
	dm.CreateAttr("xmlns:ds", wssec.NSDS)
	dm.CreateAttr("Algorithm", params.DigestURI())
	if mgf := params.MGFURI(); mgf != "" {
		m := em.CreateElement("xenc11:MGF")
		m.CreateAttr("xmlns:xenc11", wssec.NSXENC11)
		m.CreateAttr("Algorithm", mgf)
	}
	ek.AddChild(keyInfo)
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	return ek
}

func buildEncryptedData(sec *etree.Element, p *EncryptedPart, dataAlg, ekID string) *etree.Element {
	ed := etree.NewElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", wssec.NSXENC)
	ed.CreateAttr("Id", p.EncryptedDataID)
	ed.CreateAttr("MimeType", p.MimeType)
	ed.CreateAttr("Type", wssec.TypeAttachmentContentOnly)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", dataAlg)
	// The KeyInfo pointing back at the EncryptedKey is optional (the
	// ReferenceList binds them); Holodeck, phase4 and Domibus include it.
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", wssec.NSDS)
	str := ki.CreateElement("wsse:SecurityTokenReference")
	if !boundTo(sec, "wsse", wssec.NSWSSE) {
		str.CreateAttr("xmlns:wsse", wssec.NSWSSE)
	}
	str.CreateAttr("xmlns:wsse11", wssec.NSWSSE11)
	str.CreateAttr("wsse11:TokenType", wssec.TokenTypeEncryptedKey)
	str.CreateElement("wsse:Reference").CreateAttr("URI", "#"+ekID)
	cr := ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherReference")
	cr.CreateAttr("URI", soap.CIDURL(p.ContentID))
	tr := cr.CreateElement("xenc:Transforms").CreateElement("ds:Transform")
	tr.CreateAttr("xmlns:ds", wssec.NSDS)
	tr.CreateAttr("Algorithm", wssec.AlgAttachmentCiphertext)
	return ed
}

// Destroy clears the content encryption key; the parts cannot be written
// afterwards. Call it once the message has been sent (or abandoned).
func (r *EncryptResult) Destroy() {
	clear(r.key)
	r.key = nil
}

// WriteAttachments writes every encrypted part to w, in order, after the
// envelope (w.WriteEnvelope must have been called).
func (r *EncryptResult) WriteAttachments(w *soap.Writer) error {
	for _, p := range r.Parts {
		if _, err := w.WriteAttachment(p.ContentID, p.ContentType, p.Reader()); err != nil {
			return fmt.Errorf("xenc: writing part <%s>: %w", p.ContentID, err)
		}
	}
	return nil
}

var errDestroyed = errors.New("xenc: the content key was destroyed")

// WriteTo encrypts the attachment into w as IV ‖ ciphertext ‖ tag, with a
// fresh random IV. On a read error nothing completes the ciphertext (no tag
// is written), so a receiver cannot mistake a truncated part for a whole one.
func (p *EncryptedPart) WriteTo(w io.Writer) (int64, error) {
	if p.res.key == nil {
		return 0, errDestroyed
	}
	src, err := p.plain.Open()
	if err != nil {
		return 0, fmt.Errorf("xenc: opening attachment <%s>: %w", p.ContentID, err)
	}
	defer src.Close()
	cw := &countingWriter{w: w}
	enc, err := aesgcm.NewEncryptWriter(cw, p.res.key, nil)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(enc, src); err != nil {
		return cw.n, fmt.Errorf("xenc: encrypting attachment <%s>: %w", p.ContentID, err)
	}
	err = enc.Close()
	return cw.n, err
}

// Reader returns the encrypted part body as a stream for
// soap.Writer.WriteAttachment. It implements io.WriterTo, so io.Copy
// encrypts straight into the destination. The plaintext is opened on the
// first read; Close closes it.
func (p *EncryptedPart) Reader() io.ReadCloser {
	return &partReader{p: p}
}

type partReader struct {
	p       *EncryptedPart
	src     io.ReadCloser
	enc     io.WriteCloser
	out     bytes.Buffer // ciphertext produced but not yet read
	scratch []byte
	eof     bool
	err     error
}

func (r *partReader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.src == nil {
		if r.p.res.key == nil {
			r.err = errDestroyed
			return 0, r.err
		}
		src, err := r.p.plain.Open()
		if err != nil {
			r.err = fmt.Errorf("xenc: opening attachment <%s>: %w", r.p.ContentID, err)
			return 0, r.err
		}
		r.src = src
		if r.enc, err = aesgcm.NewEncryptWriter(&r.out, r.p.res.key, nil); err != nil {
			r.err = err
			return 0, err
		}
		r.scratch = make([]byte, 32<<10)
	}
	for r.out.Len() == 0 {
		if r.eof {
			return 0, io.EOF
		}
		n, err := r.src.Read(r.scratch)
		if n > 0 {
			if _, werr := r.enc.Write(r.scratch[:n]); werr != nil {
				r.err = werr
				return 0, werr
			}
		}
		switch {
		case err == io.EOF:
			if cerr := r.enc.Close(); cerr != nil {
				r.err = cerr
				return 0, cerr
			}
			r.eof = true
		case err != nil:
			r.err = fmt.Errorf("xenc: encrypting attachment <%s>: %w", r.p.ContentID, err)
			return 0, r.err
		}
	}
	return r.out.Read(b)
}

// WriteTo lets io.Copy skip the intermediate buffer when nothing has been
// read yet.
func (r *partReader) WriteTo(w io.Writer) (int64, error) {
	if r.src != nil || r.err != nil {
		return io.Copy(w, struct{ io.Reader }{r})
	}
	r.err = errors.New("xenc: part reader already consumed")
	return r.p.WriteTo(w)
}

func (r *partReader) Close() error {
	if r.src != nil {
		return r.src.Close()
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
