package wssec

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
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
	// ContentType is the part's MIME type (for a decrypted part, the
	// EncryptedData MimeType). It selects how the octets are digested (SwA
	// 1.1 §5.4): XML types in exclusive canonical form, text/* with CRLF line
	// ends, everything else (AS4's compressed parts) as is. Empty means as is.
	ContentType string
	// Open returns the part's octets from the start; it may be called more than
	// once.
	Open func() (io.ReadCloser, error)
	// SHA256, when set, is the SHA-256 of those octets computed while the part
	// was spooled, so a SHA-256 reference over a part digested as is needs no
	// second read.
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

	// Order in the header: Timestamp, token, signature; xenc inserts the
	// EncryptedKey before the signature later. The elements declare the
	// namespaces they use unless the (possibly pre-existing) Security header
	// already binds wsu and wsse as we need them.
	wsu := bindPrefixOnNew(sec, "wsu", NSWSU)
	wsse := bindPrefixOnNew(sec, "wsse", NSWSSE)
	ts := buildTimestamp(now, opts.TimestampTTL, wsu)
	bst := buildBST(opts.Certificate, wsse, wsu)
	bstID, _ := IDOf(bst)
	sec.AddChild(ts)
	sec.AddChild(bst)
	if wsu.decl != nil {
		ts.Attr = append([]etree.Attr{*wsu.decl}, ts.Attr...)
		bst.Attr = append([]etree.Attr{*wsu.decl}, bst.Attr...)
	}
	if wsse.decl != nil {
		bst.Attr = append([]etree.Attr{*wsse.decl}, bst.Attr...)
	}

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
		h := digHash.New()
		if err := c14n.CanonicalizeTo(h, el, c14n.Options{}); err != nil {
			return nil, fmt.Errorf("wssec: canonicalizing <%s>: %w", el.FullTag(), err)
		}
		res.References = append(res.References, ebms.Reference{
			URI:             "#" + id,
			Transforms:      []ebms.Transform{{Algorithm: AlgExcC14N}},
			DigestAlgorithm: digAlg,
			DigestValue:     h.Sum(nil),
		})
	}
	for _, a := range attachments {
		if a.ContentID == "" {
			return nil, errors.New("wssec: an attachment without Content-ID cannot be referenced")
		}
		sum, err := digestAttachment(a, digHash)
		if err != nil {
			return nil, fmt.Errorf("wssec: %w", err)
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
	h := sigHash.New()
	if err := c14n.CanonicalizeTo(h, signedInfo, c14n.Options{}); err != nil {
		return nil, fmt.Errorf("wssec: canonicalizing SignedInfo: %w", err)
	}
	value, err := opts.Key.Sign(rand.Reader, h.Sum(nil), sigHash)
	if err != nil {
		return nil, fmt.Errorf("wssec: signing: %w", err)
	}
	sv := sig.CreateElement("ds:SignatureValue")
	sv.SetText(base64.StdEncoding.EncodeToString(value))
	ki := sig.CreateElement("ds:KeyInfo")
	str := ki.CreateElement(wsse.prefix + ":SecurityTokenReference")
	if wsse.decl != nil {
		str.CreateAttr("xmlns:"+wsse.prefix, NSWSSE)
	}
	ref := str.CreateElement(wsse.prefix + ":Reference")
	ref.CreateAttr("URI", "#"+bstID)
	ref.CreateAttr("ValueType", ValueTypeX509v3)
	return res, nil
}

// nsEbMS is the ebMS 3.0 core namespace (eb:Messaging).
const nsEbMS = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"

// newPrefix is a prefix to use for a namespace in elements about to be added
// under a parent; decl is the declaration they must carry when the parent
// does not bind the prefix to the namespace already.
type newPrefix struct {
	prefix string
	decl   *etree.Attr
}

// bindPrefixOnNew picks the prefix for uri in new children of parent: want if
// parent has it bound to uri in scope, otherwise want (or want1, ... when want
// is bound to something else in scope) with a declaration to add.
func bindPrefixOnNew(parent *etree.Element, want, uri string) newPrefix {
	if declaresNS(parent, want, uri) {
		return newPrefix{prefix: want}
	}
	prefix := want
	for i := 1; ; i++ {
		if !prefixInScope(parent, prefix) {
			break
		}
		prefix = fmt.Sprintf("%s%d", want, i)
	}
	return newPrefix{prefix: prefix, decl: &etree.Attr{Space: "xmlns", Key: prefix, Value: uri}}
}

// prefixInScope reports whether prefix is declared at el or an ancestor.
func prefixInScope(el *etree.Element, prefix string) bool {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return true
			}
		}
	}
	return false
}

func buildTimestamp(now time.Time, ttl time.Duration, wsu newPrefix) *etree.Element {
	p := wsu.prefix + ":"
	ts := etree.NewElement(p + "Timestamp")
	ts.CreateAttr(p+"Id", NewID("TS"))
	ts.CreateElement(p + "Created").SetText(now.UTC().Format("2006-01-02T15:04:05.000Z"))
	if ttl > 0 {
		ts.CreateElement(p + "Expires").SetText(now.Add(ttl).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	return ts
}

func buildBST(cert *x509.Certificate, wsse, wsu newPrefix) *etree.Element {
	bst := etree.NewElement(wsse.prefix + ":BinarySecurityToken")
	bst.CreateAttr("EncodingType", EncodingTypeBase64)
	bst.CreateAttr("ValueType", ValueTypeX509v3)
	bst.CreateAttr(wsu.prefix+":Id", NewID("X509"))
	bst.SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	return bst
}

// ensureWSUID returns el's ID, adding a wsu:Id (and the wsu namespace
// declaration on el itself, if needed) when it has none.
func ensureWSUID(el *etree.Element) string {
	if id, ok := IDOf(el); ok {
		return id
	}
	prefix := bindPrefix(el, "wsu", NSWSU)
	id := NewID("id")
	el.CreateAttr(prefix+":Id", id)
	return id
}

// bindPrefix returns a prefix bound to uri at el (el must already sit in its
// tree): want if it is bound to uri in scope; otherwise want, want1, want2...,
// the first that nothing in el's subtree uses, declared on el. A prefix in use
// below el is never rebound, so no existing element or attribute changes
// namespace.
func bindPrefix(el *etree.Element, want, uri string) string {
	if declaresNS(el, want, uri) {
		return want
	}
	used := map[string]bool{}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		used[e.Space] = true
		for _, a := range e.Attr {
			used[a.Space] = true
			if a.Space == "xmlns" {
				used[a.Key] = true
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	prefix := want
	for i := 1; used[prefix]; i++ {
		prefix = fmt.Sprintf("%s%d", want, i)
	}
	el.CreateAttr("xmlns:"+prefix, uri)
	return prefix
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
