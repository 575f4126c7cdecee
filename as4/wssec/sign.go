package wssec

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec/c14n"
	"github.com/as4gw/as4gw/ebms"
)

// Attachment is a MIME part as it is (or was) sent: the octets a cid: Reference
// digests. For an encrypted message these are the decrypted, still compressed
// octets (AS4 signs before it encrypts).
type Attachment struct {
	// ContentID without "cid:" and without angle brackets.
	ContentID string
	// Open returns the part's octets from the start; it may be called more than
	// once.
	Open func() (io.ReadCloser, error)
	// SHA256, when set, is the SHA-256 of those octets computed while the part
	// was spooled, so a SHA-256 reference needs no second read.
	SHA256 []byte
}

// Envelope is the part of a SOAP envelope that WS-Security works on.
type Envelope struct {
	Root, Header, Body *etree.Element
}

// SignOptions configures Sign. Key and Certificate are required.
type SignOptions struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
	// SignatureMethod defaults to RSA-SHA256, DigestMethod to SHA-256.
	SignatureMethod string
	DigestMethod    string
	// Now stamps wsu:Timestamp/Created; zero means time.Now().
	Now time.Time
	// TimestampTTL, when positive, adds wsu:Expires = Now + TTL.
	TimestampTTL time.Duration
}

// SignResult describes the signature Sign added.
type SignResult struct {
	SignatureID string
	// References are the ds:Reference values signed, in document order; a
	// receipt's NonRepudiationInformation must echo exactly these.
	References []ebms.Reference
}

// Sign adds a wsse:Security header (if absent) with a wsu:Timestamp, the
// certificate as a BinarySecurityToken and a ds:Signature over eb:Messaging (if
// present), the Body, the Timestamp and every attachment. eb:Messaging and the
// Body get wsu:Id attributes if they have none. Call it after compression and
// before encryption.
func Sign(env Envelope, attachments []Attachment, opts SignOptions) (*SignResult, error) {
	if opts.Key == nil || opts.Certificate == nil {
		return nil, errors.New("wssec: signing needs a key and its certificate")
	}
	if env.Root == nil || env.Header == nil || env.Body == nil {
		return nil, errors.New("wssec: envelope needs Header and Body elements")
	}
	sigAlg := opts.SignatureMethod
	if sigAlg == "" {
		sigAlg = AlgRSASHA256
	}
	digAlg := opts.DigestMethod
	if digAlg == "" {
		digAlg = AlgSHA256
	}
	sigHash, ok := signatureHashes[sigAlg]
	if !ok {
		return nil, fmt.Errorf("wssec: unsupported SignatureMethod %q", sigAlg)
	}
	digHash, ok := digestHashes[digAlg]
	if !ok {
		return nil, fmt.Errorf("wssec: unsupported DigestMethod %q", digAlg)
	}
	if _, isRSA := opts.Key.Public().(*rsa.PublicKey); !isRSA {
		return nil, fmt.Errorf("wssec: %s needs an RSA key", sigAlg)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	soapPrefix := env.Root.Space

	sec, err := EnsureSecurity(env.Header, soapPrefix)
	if err != nil {
		return nil, err
	}
	if _, err := childNS(sec, NSDS, "Signature"); err != nil || len(childrenNS(sec, NSDS, "Signature")) > 0 {
		return nil, errors.New("wssec: the Security header is already signed")
	}

	ts := buildTimestamp(now, opts.TimestampTTL)
	bst := buildBST(opts.Certificate)
	bstID, _ := IDOf(bst)
	// Order in the header: Timestamp, token, signature; xenc inserts the
	// EncryptedKey before the signature later.
	sec.AddChild(ts)
	sec.AddChild(bst)

	var targets []*etree.Element
	for _, c := range env.Header.ChildElements() {
		if c.Tag == "Messaging" && c.NamespaceURI() == nsEbMS {
			targets = append(targets, c)
		}
	}
	targets = append(targets, env.Body, ts)

	res := &SignResult{SignatureID: NewID("SIG")}
	for _, el := range targets {
		id := ensureWSUID(el)
		canon, err := c14n.Canonicalize(el, nil)
		if err != nil {
			return nil, fmt.Errorf("wssec: canonicalizing <%s>: %w", el.FullTag(), err)
		}
		h := digHash.New()
		h.Write(canon)
		res.References = append(res.References, ebms.Reference{
			URI:             "#" + id,
			Transforms:      []ebms.Transform{{Algorithm: AlgExcC14N}},
			DigestAlgorithm: digAlg,
			DigestValue:     h.Sum(nil),
		})
	}
	for _, a := range attachments {
		sum, err := digestAttachment(a, digHash)
		if err != nil {
			return nil, err
		}
		res.References = append(res.References, ebms.Reference{
			URI:             "cid:" + a.ContentID,
			Transforms:      []ebms.Transform{{Algorithm: AlgAttachmentContentSignature}},
			DigestAlgorithm: digAlg,
			DigestValue:     sum,
		})
	}

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", NSDS)
	sig.CreateAttr("Id", res.SignatureID)
	sig.AddChild(buildSignedInfo(sigAlg, res.References))
	sec.AddChild(sig)

	// The SignedInfo is canonicalized in place, inside the document, so the
	// signed bytes are exactly what a receiver will canonicalize.
	signedInfo := sig.SelectElement("ds:SignedInfo")
	canon, err := c14n.Canonicalize(signedInfo, nil)
	if err != nil {
		return nil, fmt.Errorf("wssec: canonicalizing SignedInfo: %w", err)
	}
	h := sigHash.New()
	h.Write(canon)
	value, err := opts.Key.Sign(rand.Reader, h.Sum(nil), sigHash)
	if err != nil {
		return nil, fmt.Errorf("wssec: signing: %w", err)
	}
	sv := sig.CreateElement("ds:SignatureValue")
	sv.SetText(base64.StdEncoding.EncodeToString(value))
	ki := sig.CreateElement("ds:KeyInfo")
	str := ki.CreateElement("wsse:SecurityTokenReference")
	ref := str.CreateElement("wsse:Reference")
	ref.CreateAttr("URI", "#"+bstID)
	ref.CreateAttr("ValueType", ValueTypeX509v3)
	return res, nil
}

// nsEbMS is the ebMS 3.0 core namespace (eb:Messaging).
const nsEbMS = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"

func buildTimestamp(now time.Time, ttl time.Duration) *etree.Element {
	ts := etree.NewElement("wsu:Timestamp")
	ts.CreateAttr("wsu:Id", NewID("TS"))
	ts.CreateElement("wsu:Created").SetText(now.UTC().Format("2006-01-02T15:04:05.000Z"))
	if ttl > 0 {
		ts.CreateElement("wsu:Expires").SetText(now.Add(ttl).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	return ts
}

func buildBST(cert *x509.Certificate) *etree.Element {
	bst := etree.NewElement("wsse:BinarySecurityToken")
	bst.CreateAttr("EncodingType", EncodingTypeBase64)
	bst.CreateAttr("ValueType", ValueTypeX509v3)
	bst.CreateAttr("wsu:Id", NewID("X509"))
	bst.SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	return bst
}

// ensureWSUID returns el's ID, adding a wsu:Id (and the wsu namespace
// declaration on el itself) when it has none.
func ensureWSUID(el *etree.Element) string {
	if id, ok := IDOf(el); ok {
		return id
	}
	prefix := "wsu"
	if uri := el.NamespaceURI(); uri != "" && el.Space == "wsu" && uri != NSWSU {
		prefix = "wsu1" // never rebind a prefix the element itself uses
	}
	if !declaresNS(el, prefix, NSWSU) {
		el.CreateAttr("xmlns:"+prefix, NSWSU)
	}
	id := NewID("id")
	el.CreateAttr(prefix+":Id", id)
	return id
}

// declaresNS reports whether prefix is bound to uri in scope at el.
func declaresNS(el *etree.Element, prefix, uri string) bool {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value == uri
			}
		}
	}
	return false
}

func buildSignedInfo(sigAlg string, refs []ebms.Reference) *etree.Element {
	si := etree.NewElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", sigAlg)
	for _, r := range refs {
		si.AddChild(referenceElement(r))
	}
	return si
}

// referenceElement renders a ds:Reference (prefix ds, declared by an ancestor).
func referenceElement(r ebms.Reference) *etree.Element {
	ref := etree.NewElement("ds:Reference")
	ref.CreateAttr("URI", r.URI)
	if len(r.Transforms) > 0 {
		tr := ref.CreateElement("ds:Transforms")
		for _, t := range r.Transforms {
			te := tr.CreateElement("ds:Transform")
			te.CreateAttr("Algorithm", t.Algorithm)
			if t.InclusiveNamespaces != nil {
				in := te.CreateElement("ec:InclusiveNamespaces")
				in.CreateAttr("xmlns:ec", NSEC)
				in.CreateAttr("PrefixList", strings.Join(t.InclusiveNamespaces.PrefixList, " "))
			}
		}
	}
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", r.DigestAlgorithm)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(r.DigestValue))
	return ref
}

func digestAttachment(a Attachment, h crypto.Hash) ([]byte, error) {
	if h == crypto.SHA256 && len(a.SHA256) == sha256.Size {
		return a.SHA256, nil
	}
	if a.Open == nil {
		return nil, fmt.Errorf("wssec: attachment %q has no content", a.ContentID)
	}
	rc, err := a.Open()
	if err != nil {
		return nil, fmt.Errorf("wssec: opening attachment %q: %w", a.ContentID, err)
	}
	defer rc.Close()
	d := h.New()
	if _, err := io.Copy(d, rc); err != nil {
		return nil, fmt.Errorf("wssec: reading attachment %q: %w", a.ContentID, err)
	}
	return d.Sum(nil), nil
}
