package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // RSA-SHA1 / SHA-1 in crafted SignedInfos
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec/c14n"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// Signature-wrapping and policy attacks on messages we sign ourselves with
// testpki keys. Every case must be rejected with the named EBMS code and
// Check; TestAttackControls shows that the unmodified message and the
// re-signing helper produce messages that verify, so each rejection comes
// from the rule under test and not from a broken fixture.

const (
	nsAlgSHA1         = "http://www.w3.org/2000/09/xmldsig#sha1"
	nsAlgRSASHA1      = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	nsAlgXPath        = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	nsAlgXSLT         = "http://www.w3.org/TR/1999/REC-xslt-19991116"
	nsAlgEnveloped    = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	nsAlgXPathFilter2 = "http://www.w3.org/2002/06/xmldsig-filter2"
	nsAlgInclC14N     = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
)

const attackEnvelope = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header>` +
	`<eb:Messaging xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/" S12:mustUnderstand="true">` +
	`<eb:UserMessage><eb:MessageInfo><eb:Timestamp>2026-11-26T10:00:00.000Z</eb:Timestamp><eb:MessageId>attack-1@as4gw</eb:MessageId></eb:MessageInfo>` +
	`<eb:PartyInfo><eb:From><eb:PartyId>sender</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator</eb:Role></eb:From>` +
	`<eb:To><eb:PartyId>receiver</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder</eb:Role></eb:To></eb:PartyInfo>` +
	`<eb:CollaborationInfo><eb:Service>urn:example:service</eb:Service><eb:Action>Pay</eb:Action><eb:ConversationId>c-1</eb:ConversationId></eb:CollaborationInfo>` +
	`<eb:PayloadInfo><eb:PartInfo href="cid:part1@as4gw"></eb:PartInfo><eb:PartInfo href="cid:part2@as4gw"></eb:PartInfo></eb:PayloadInfo>` +
	`</eb:UserMessage></eb:Messaging></S12:Header>` +
	`<S12:Body><inv:Invoice xmlns:inv="urn:example:invoice"><inv:ID>INV-1</inv:ID><inv:PayTo>DE02100100100006820101</inv:PayTo><inv:Amount currency="EUR">100.00</inv:Amount></inv:Invoice></S12:Body>` +
	`</S12:Envelope>`

// attackPKI is the trusted hierarchy (root -> CA -> AP) plus a rogue one.
type attackPKI struct {
	legit, rogue *testpki.Hierarchy
	store        *trust.Store
}

var (
	attackPKIOnce sync.Once
	attackPKIVal  *attackPKI
	attackPKIErr  error
)

func getAttackPKI(t testing.TB) *attackPKI {
	t.Helper()
	attackPKIOnce.Do(func() {
		legit, err := testpki.NewHierarchy("attack-legit", "AP-LEGIT", 2048)
		if err != nil {
			attackPKIErr = err
			return
		}
		rogue, err := testpki.NewHierarchy("attack-rogue", "AP-LEGIT", 2048)
		if err != nil {
			attackPKIErr = err
			return
		}
		store := trust.NewStore(legit.Root.Certificate)
		store.AddIntermediates(legit.Intermediate.Certificate)
		attackPKIVal = &attackPKI{legit: legit, rogue: rogue, store: store}
	})
	if attackPKIErr != nil {
		t.Fatal(attackPKIErr)
	}
	return attackPKIVal
}

func (p *attackPKI) validator() CertificateValidator {
	return ValidatorFunc(func(cert *x509.Certificate, inter []*x509.Certificate, at time.Time) error {
		_, err := p.store.Verify(cert, inter, trust.VerifyOptions{At: at, KeyUsage: trust.KeyUsageSigning})
		return err
	})
}

// attackMsg is a signed message, parsed back from its wire bytes.
type attackMsg struct {
	soapEnv *soap.Envelope
	env     Envelope
	atts    []Attachment
	signed  *SignResult
	signer  *testpki.Cert
	at      time.Time
	pki     *attackPKI
}

var attackPayloads = map[string][]byte{
	"part1@as4gw": []byte("<order><id>1</id><amount>100.00</amount></order>"),
	"part2@as4gw": bytes.Repeat([]byte{0x1f, 0x8b, 0x08, 0x00}, 64),
}

func attackAttachments() []Attachment {
	return []Attachment{memAttachment("part1@as4gw", attackPayloads["part1@as4gw"]), memAttachment("part2@as4gw", attackPayloads["part2@as4gw"])}
}

// newAttackMsg signs attackEnvelope and both attachments with signer (the
// legitimate AP when nil) and parses the serialized message back.
func newAttackMsg(t testing.TB, signer *testpki.Cert) *attackMsg {
	t.Helper()
	pki := getAttackPKI(t)
	if signer == nil {
		signer = pki.legit.Leaf
	}
	now := time.Now().UTC()
	se, err := soap.ParseEnvelope(strings.NewReader(attackEnvelope), soap.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	atts := attackAttachments()
	res, err := Sign(EnvelopeFromSOAP(se), atts, SignOptions{Key: signer.Signer(), Certificate: signer.Certificate, Now: now, TimestampTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m := &attackMsg{atts: atts, signed: res, signer: signer, at: now, pki: pki}
	m.reparse(t, se)
	return m
}

// reparse serializes se and reads it back as a receiver would.
func (m *attackMsg) reparse(t testing.TB, se *soap.Envelope) {
	t.Helper()
	wire, err := se.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m.soapEnv, err = soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
	if err != nil {
		t.Fatalf("re-parsing: %v\n%s", err, wire)
	}
	m.env = EnvelopeFromSOAP(m.soapEnv)
}

func (m *attackMsg) opts() VerifyOptions {
	return VerifyOptions{Policy: DefaultPolicy(), At: m.at, Validator: m.pki.validator()}
}

func (m *attackMsg) verify() (*Result, error) { return Verify(m.env, m.atts, m.opts()) }

func (m *attackMsg) security(t testing.TB) *etree.Element {
	t.Helper()
	sec, err := FindSecurity(m.env.Header)
	if err != nil || sec == nil {
		t.Fatalf("no Security header: %v", err)
	}
	return sec
}

func (m *attackMsg) signature(t testing.TB) *etree.Element {
	t.Helper()
	return m.security(t).SelectElement("ds:Signature")
}

func (m *attackMsg) signedInfo(t testing.TB) *etree.Element {
	t.Helper()
	return m.signature(t).SelectElement("ds:SignedInfo")
}

func (m *attackMsg) messaging(t testing.TB) *etree.Element {
	t.Helper()
	el, err := ebms.FindMessaging(m.env.Header)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// reference returns the SignedInfo's ds:Reference with the URI of the given
// target ("Body", "Messaging", "Timestamp" or a cid: URI).
func (m *attackMsg) reference(t testing.TB, target string) *etree.Element {
	t.Helper()
	var uri string
	switch target {
	case "Body":
		id, _ := IDOf(m.env.Body)
		uri = "#" + id
	case "Messaging":
		id, _ := IDOf(m.messaging(t))
		uri = "#" + id
	case "Timestamp":
		id, _ := IDOf(m.security(t).SelectElement("wsu:Timestamp"))
		uri = "#" + id
	default:
		uri = target
	}
	for _, r := range m.signedInfo(t).SelectElements("ds:Reference") {
		if r.SelectAttrValue("URI", "") == uri {
			return r
		}
	}
	t.Fatalf("no Reference %s", uri)
	return nil
}

// resign canonicalizes the (modified) SignedInfo and replaces the
// SignatureValue with a valid signature by key over it with hash h: the
// attacker controls the signing key (an insider, a stolen key) or the
// SignedInfo was crafted by a legitimate but non-conforming sender.
func (m *attackMsg) resign(t testing.TB, key *rsa.PrivateKey, h crypto.Hash) {
	t.Helper()
	sig := m.signature(t)
	canon, err := c14n.Canonicalize(sig.SelectElement("ds:SignedInfo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(canon)
	value, err := rsa.SignPKCS1v15(rand.Reader, key, h, d.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	sig.SelectElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
}

// setTransforms replaces a Reference's ds:Transforms with the given algorithms.
func setTransforms(ref *etree.Element, algs ...string) {
	if old := ref.SelectElement("ds:Transforms"); old != nil {
		ref.RemoveChild(old)
	}
	trs := etree.NewElement("ds:Transforms")
	for _, a := range algs {
		tr := trs.CreateElement("ds:Transform")
		tr.CreateAttr("Algorithm", a)
		switch a {
		case nsAlgXPath:
			tr.CreateElement("ds:XPath").SetText("not(ancestor-or-self::inv:PayTo)")
		case nsAlgXSLT:
			ss := tr.CreateElement("xsl:stylesheet")
			ss.CreateAttr("xmlns:xsl", "http://www.w3.org/1999/XSL/Transform")
			ss.CreateAttr("version", "1.0")
			ss.CreateElement("xsl:template").CreateAttr("match", "/")
		case nsAlgXPathFilter2:
			xp := tr.CreateElement("dsp:XPath")
			xp.CreateAttr("xmlns:dsp", nsAlgXPathFilter2)
			xp.CreateAttr("Filter", "subtract")
			xp.SetText("//*[local-name()='PayTo']")
		}
	}
	ref.InsertChildAt(0, trs)
}

func newHeaderBlock(tag, ns string) *etree.Element {
	el := etree.NewElement("x:" + tag)
	el.CreateAttr("xmlns:x", ns)
	return el
}

// TestAttackControls: the fixture verifies untouched, after re-signing an
// unchanged SignedInfo with the legitimate key, and after a round trip
// through bytes; so a failure in an attack case comes from the attack.
func TestAttackControls(t *testing.T) {
	m := newAttackMsg(t, nil)
	res, err := m.verify()
	if err != nil {
		t.Fatalf("untouched message: %v", err)
	}
	if !res.TrustChecked || !res.MessagingSigned || !res.BodySigned || len(res.AttachmentsSigned) != 2 || len(res.References) != 5 {
		t.Fatalf("result %+v", res)
	}
	m.resign(t, m.signer.Key, crypto.SHA256)
	if _, err := m.verify(); err != nil {
		t.Fatalf("re-signed unchanged SignedInfo: %v", err)
	}
	m.reparse(t, m.soapEnv)
	if _, err := m.verify(); err != nil {
		t.Fatalf("after a second round trip: %v", err)
	}
	// The re-signing helper with an edited but policy-conforming SignedInfo
	// (PrefixList on the Body reference, digest unchanged) still verifies.
	ref := m.reference(t, "Body")
	tr := ref.SelectElement("ds:Transforms").SelectElement("ds:Transform")
	in := tr.CreateElement("ec:InclusiveNamespaces")
	in.CreateAttr("xmlns:ec", NSEC)
	in.CreateAttr("PrefixList", "S12")
	// The Body's canonical form now includes xmlns:S12, so recompute.
	canon, err := c14n.Canonicalize(m.env.Body, []string{"S12"})
	if err != nil {
		t.Fatal(err)
	}
	sum := crypto.SHA256.New()
	sum.Write(canon)
	ref.SelectElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(sum.Sum(nil)))
	m.resign(t, m.signer.Key, crypto.SHA256)
	if _, err := m.verify(); err != nil {
		t.Fatalf("re-signed conforming SignedInfo: %v", err)
	}
}

type attackCase struct {
	name   string
	mutate func(t *testing.T, m *attackMsg)
	// opts adjusts the verification options (e.g. a tighter policy).
	opts func(o *VerifyOptions)
	want wantErr
	// wire: the mutated message survives serialization and soap's parser,
	// and must then fail the same way (false where soap itself refuses the
	// structure, which the in-tree check shows wssec refuses on its own).
	wire bool
}

var (
	failedAuth = ebms.CodeFailedAuthentication
	policyNC   = ebms.CodePolicyNoncompliance
)

var attackCases = []attackCase{
	// --- wrapping ---------------------------------------------------------
	{name: "duplicate Id: header block carrying the Body's Id", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			id, _ := IDOf(m.env.Body)
			w := newHeaderBlock("Wrapper", "urn:evil")
			w.CreateAttr("xmlns:wsu", NSWSU)
			w.CreateAttr("wsu:Id", id)
			m.env.Header.AddChild(w)
		},
		want: wantErr{failedAuth, "duplicate-id", ""}},
	{name: "duplicate Id: unqualified Id inside the Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			id, _ := IDOf(m.messaging(t))
			m.env.Body.ChildElements()[0].CreateAttr("Id", id)
		},
		want: wantErr{failedAuth, "duplicate-id", ""}},
	{name: "duplicate Id: lower-case id in a foreign namespace", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			id, _ := IDOf(m.env.Body)
			el := m.env.Body.ChildElements()[0]
			el.CreateAttr("xmlns:f", "urn:foreign")
			el.CreateAttr("f:id", id)
		},
		want: wantErr{failedAuth, "duplicate-id", ""}},
	{name: "Body moved under a header wrapper, new Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			orig := m.env.Body
			m.env.Root.RemoveChild(orig)
			w := newHeaderBlock("Wrapper", "urn:evil")
			w.AddChild(orig)
			m.env.Header.AddChild(w)
			nb := m.env.Root.CreateElement("S12:Body")
			nb.CreateElement("inv:Invoice").CreateAttr("xmlns:inv", "urn:example:invoice")
			m.env.Body = nb
		},
		want: wantErr{failedAuth, "reference-position", "not the Envelope's Body"}},
	{name: "Body moved directly into the Header, new Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			orig := m.env.Body
			m.env.Root.RemoveChild(orig)
			m.env.Header.AddChild(orig)
			m.env.Body = m.env.Root.CreateElement("S12:Body")
		},
		want: wantErr{failedAuth, "reference-position", "not the Envelope's Body"}},
	{name: "Body moved into ds:Object of the Signature, new Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			orig := m.env.Body
			m.env.Root.RemoveChild(orig)
			m.signature(t).CreateElement("ds:Object").AddChild(orig)
			m.env.Body = m.env.Root.CreateElement("S12:Body")
		},
		want: wantErr{failedAuth, "reference-position", "not the Envelope's Body"}},
	{name: "eb:Messaging moved under a header wrapper, new eb:Messaging", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			orig := m.messaging(t)
			evil := orig.Copy()
			for _, a := range evil.Attr {
				if a.Key == "Id" {
					evil.RemoveAttr(a.FullKey())
				}
			}
			m.env.Header.RemoveChild(orig)
			w := newHeaderBlock("Wrapper", "urn:evil")
			w.AddChild(orig)
			m.env.Header.AddChild(w)
			m.env.Header.AddChild(evil)
		},
		want: wantErr{failedAuth, "reference-position", "not a child of the SOAP Header"}},
	{name: "second, unsigned eb:Messaging beside the signed one", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			evil := m.messaging(t).Copy()
			for _, a := range evil.Attr {
				if a.Key == "Id" {
					evil.RemoveAttr(a.FullKey())
				}
			}
			m.env.Header.AddChild(evil)
		},
		want: wantErr{failedAuth, "reference-position", "2 eb:Messaging"}},
	{name: "Id moved from the Body to a child of the Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			id, _ := IDOf(m.env.Body)
			for _, a := range m.env.Body.Attr {
				if a.Key == "Id" {
					m.env.Body.RemoveAttr(a.FullKey())
				}
			}
			child := m.env.Body.ChildElements()[0]
			child.CreateAttr("xmlns:wsu", NSWSU)
			child.CreateAttr("wsu:Id", id)
		},
		want: wantErr{failedAuth, "reference-position", "neither the Body nor a header block"}},
	{name: "Id moved from the Body to a new header wrapper holding the original content", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			id, _ := IDOf(m.env.Body)
			for _, a := range m.env.Body.Attr {
				if a.Key == "Id" {
					m.env.Body.RemoveAttr(a.FullKey())
				}
			}
			w := newHeaderBlock("Wrapper", "urn:evil")
			w.CreateAttr("xmlns:wsu", NSWSU)
			w.CreateAttr("wsu:Id", id)
			for _, c := range m.env.Body.ChildElements() {
				w.AddChild(c.Copy())
			}
			m.env.Header.AddChild(w)
			m.env.Body.ChildElements()[0].SelectElement("inv:PayTo").SetText("XX00EVIL")
		},
		want: wantErr{failedAuth, "digest", "x:Wrapper"}},
	{name: "Signature moved out of Security into another header block", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			sig := m.signature(t)
			m.security(t).RemoveChild(sig)
			w := newHeaderBlock("Other", "urn:evil")
			w.CreateAttr("xmlns:wsse", NSWSSE)
			w.AddChild(sig)
			m.env.Header.AddChild(w)
		},
		want: wantErr{failedAuth, "signature-position", "outside the wsse:Security"}},
	{name: "Signature moved into a Security header for another role", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			sig := m.signature(t)
			m.security(t).RemoveChild(sig)
			other := etree.NewElement("wsse:Security")
			other.CreateAttr("xmlns:wsse", NSWSSE)
			other.CreateAttr("S12:role", "urn:some-intermediary")
			other.AddChild(sig)
			m.env.Header.AddChild(other)
		},
		want: wantErr{failedAuth, "signature-position", "outside the wsse:Security"}},
	{name: "second Security header for the ultimate receiver", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			other := etree.NewElement("wsse:Security")
			other.CreateAttr("xmlns:wsse", NSWSSE)
			m.env.Header.AddChild(other)
		},
		want: wantErr{failedAuth, "security-header", "more than one"}},
	{name: "second Security header for role next", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			other := etree.NewElement("wsse:Security")
			other.CreateAttr("xmlns:wsse", NSWSSE)
			other.CreateAttr("S12:role", roleSOAP12Next)
			m.env.Header.InsertChildAt(0, other)
		},
		want: wantErr{failedAuth, "security-header", "more than one"}},
	{name: "second ds:Signature in the Security header", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			sig := m.signature(t)
			cp := sig.Copy()
			cp.RemoveAttr("Id")
			m.security(t).AddChild(cp)
		},
		want: wantErr{failedAuth, "signature-position", "2 ds:Signature"}},
	{name: "token reference to a BST in another header block", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			sec := m.security(t)
			bst := sec.SelectElement("wsse:BinarySecurityToken")
			sec.RemoveChild(bst)
			w := newHeaderBlock("Tokens", "urn:evil")
			w.CreateAttr("xmlns:wsse", NSWSSE)
			w.CreateAttr("xmlns:wsu", NSWSU)
			w.AddChild(bst)
			m.env.Header.AddChild(w)
		},
		want: wantErr{failedAuth, "token-reference", "in the Security header"}},
	{name: "token reference to a BST inside the Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			sec := m.security(t)
			bst := sec.SelectElement("wsse:BinarySecurityToken")
			sec.RemoveChild(bst)
			bst.CreateAttr("xmlns:wsse", NSWSSE)
			bst.CreateAttr("xmlns:wsu", NSWSU)
			m.env.Body.AddChild(bst)
		},
		want: wantErr{failedAuth, "token-reference", "in the Security header"}},

	// --- attachments --------------------------------------------------------
	{name: "unsigned attachment added",
		mutate: func(t *testing.T, m *attackMsg) {
			m.atts = append(m.atts, memAttachment("evil@as4gw", []byte("unsigned payload")))
		},
		want: wantErr{policyNC, "coverage", "evil@as4gw"}},
	{name: "attachment without Content-ID added",
		mutate: func(t *testing.T, m *attackMsg) {
			m.atts = append(m.atts, memAttachment("", []byte("unsigned payload")))
		},
		want: wantErr{policyNC, "coverage", "not signed"}},
	{name: "attachment swapped after signing",
		mutate: func(t *testing.T, m *attackMsg) {
			m.atts[1] = memAttachment("part2@as4gw", []byte("another payload"))
		},
		want: wantErr{failedAuth, "digest", "cid:part2@as4gw"}},
	{name: "signed attachment removed",
		mutate: func(t *testing.T, m *attackMsg) {
			m.atts = m.atts[:1]
		},
		want: wantErr{failedAuth, "reference-unresolved", "part2@as4gw"}},
	{name: "second part with a signed part's Content-ID",
		mutate: func(t *testing.T, m *attackMsg) {
			m.atts = append([]Attachment{memAttachment("part1@as4gw", []byte("evil twin"))}, m.atts...)
		},
		want: wantErr{failedAuth, "duplicate-content-id", "part1@as4gw"}},

	// --- transforms and algorithms (SignedInfo crafted and validly re-signed
	// with the legitimate, trusted key: the policy still rejects it) ---------
	{name: "XPath transform on the Body reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "Body"), nsAlgXPath, AlgExcC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", nsAlgXPath}},
	{name: "XPath Filter 2 transform on the Body reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "Body"), nsAlgXPathFilter2, AlgExcC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", nsAlgXPathFilter2}},
	{name: "XSLT transform on the Messaging reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "Messaging"), nsAlgXSLT, AlgExcC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", nsAlgXSLT}},
	{name: "enveloped-signature transform on the Body reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "Body"), nsAlgEnveloped, AlgExcC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", nsAlgEnveloped}},
	{name: "inclusive C14N instead of exclusive", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "Body"), nsAlgInclC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", nsAlgInclC14N}},
	{name: "no transform on a same-document reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "Body")
			ref.RemoveChild(ref.SelectElement("ds:Transforms"))
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", "none"}},
	{name: "Attachment-Complete transform on a cid: reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "cid:part1@as4gw"), AlgAttachmentCompleteSignature)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", AlgAttachmentCompleteSignature}},
	{name: "exclusive C14N transform on a cid: reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			setTransforms(m.reference(t, "cid:part1@as4gw"), AlgExcC14N)
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "transform", "cid:part1@as4gw"}},
	{name: "SHA-1 digest", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "Body")
			ref.SelectElement("ds:DigestMethod").CreateAttr("Algorithm", nsAlgSHA1)
			canon, err := c14n.Canonicalize(m.env.Body, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := crypto.SHA1.New()
			d.Write(canon)
			ref.SelectElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "digest-algorithm", nsAlgSHA1}},
	{name: "RSA-SHA1 signature", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.signedInfo(t).SelectElement("ds:SignatureMethod").CreateAttr("Algorithm", nsAlgRSASHA1)
			m.resign(t, m.signer.Key, crypto.SHA1)
		},
		want: wantErr{policyNC, "signature-algorithm", nsAlgRSASHA1}},
	{name: "HMAC-SHA256 signature", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.signedInfo(t).SelectElement("ds:SignatureMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")
		},
		want: wantErr{policyNC, "signature-algorithm", "hmac-sha256"}},
	{name: "inclusive C14N for SignedInfo", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.signedInfo(t).SelectElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", nsAlgInclC14N)
		},
		want: wantErr{policyNC, "c14n-algorithm", nsAlgInclC14N}},
	{name: "RSA-SHA512 not in the P-Mode's allow-list", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.signedInfo(t).SelectElement("ds:SignatureMethod").CreateAttr("Algorithm", AlgRSASHA512)
			m.resign(t, m.signer.Key, crypto.SHA512)
		},
		opts: func(o *VerifyOptions) { o.Policy.SignatureMethods = []string{AlgRSASHA256} },
		want: wantErr{policyNC, "signature-algorithm", AlgRSASHA512}},
	{name: "external http: reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "cid:part1@as4gw")
			ref.CreateAttr("URI", "http://attacker.example/payload")
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "reference-uri", "attacker.example"}},
	{name: "whole-document reference URI=\"\"", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "Body")
			ref.CreateAttr("URI", "")
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "reference-uri", ""}},
	{name: "empty cid: reference", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "cid:part1@as4gw")
			ref.CreateAttr("URI", "cid:")
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "reference-uri", "cid:"}},
	{name: "two References to the Body", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			ref := m.reference(t, "Body")
			m.signedInfo(t).AddChild(ref.Copy())
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{failedAuth, "duplicate-reference", ""}},
	{name: "too many References (P-Mode limit 4, message has 5)", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {},
		opts:   func(o *VerifyOptions) { o.Policy.MaxReferences = 4 },
		want:   wantErr{policyNC, "reference-count", "5 References"}},
	{name: "too many References (129 against the default limit), validly signed", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			si := m.signedInfo(t)
			ref := m.reference(t, "cid:part1@as4gw")
			for range 124 {
				si.AddChild(ref.Copy())
			}
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{policyNC, "reference-count", "129 References"}},
	{name: "unexpected element in SignedInfo", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.signedInfo(t).CreateElement("ds:Object")
			m.resign(t, m.signer.Key, crypto.SHA256)
		},
		want: wantErr{failedAuth, "signed-info", "ds:Object"}},

	// --- content, signature value, key, trust, time -------------------------
	{name: "Body content changed", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.env.Body.FindElement("//inv:PayTo").SetText("XX00EVIL")
		},
		want: wantErr{failedAuth, "digest", "(Body)"}},
	{name: "eb:Messaging content changed", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.messaging(t).FindElement("//eb:Action").SetText("Refund")
		},
		want: wantErr{failedAuth, "digest", "(eb:Messaging)"}},
	{name: "SignedInfo changed without re-signing", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.env.Body.FindElement("//inv:PayTo").SetText("XX00EVIL")
			canon, err := c14n.Canonicalize(m.env.Body, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := crypto.SHA256.New()
			d.Write(canon)
			m.reference(t, "Body").SelectElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
		},
		want: wantErr{failedAuth, "signature-value", "AP-LEGIT"}},
	{name: "attacker re-signs changed content with a same-named rogue certificate", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.env.Body.FindElement("//inv:PayTo").SetText("XX00EVIL")
			canon, err := c14n.Canonicalize(m.env.Body, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := crypto.SHA256.New()
			d.Write(canon)
			m.reference(t, "Body").SelectElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
			rogue := m.pki.rogue.Leaf
			m.security(t).SelectElement("wsse:BinarySecurityToken").SetText(base64.StdEncoding.EncodeToString(rogue.Certificate.Raw))
			m.resign(t, rogue.Key, crypto.SHA256)
		},
		want: wantErr{failedAuth, "certificate", "AP-LEGIT"}},
	{name: "timestamp expired", wire: true,
		mutate: func(t *testing.T, m *attackMsg) { m.at = m.at.Add(2 * time.Hour) },
		want:   wantErr{failedAuth, "timestamp", "expired"}},
	{name: "timestamp in the future", wire: true,
		mutate: func(t *testing.T, m *attackMsg) { m.at = m.at.Add(-time.Hour) },
		want:   wantErr{failedAuth, "timestamp", "future"}},
	{name: "unsigned message where signing is required", wire: true,
		mutate: func(t *testing.T, m *attackMsg) {
			m.env.Header.RemoveChild(m.security(t))
		},
		want: wantErr{policyNC, "unsigned", ""}},
}

func TestAttacks(t *testing.T) {
	for _, tc := range attackCases {
		t.Run(tc.name, func(t *testing.T) {
			m := newAttackMsg(t, nil)
			tc.mutate(t, m)
			opts := m.opts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			res, err := Verify(m.env, m.atts, opts)
			if res != nil {
				t.Fatalf("attack verified; want %s", tc.want)
			}
			assertErr(t, err, tc.want)
			if !tc.wire {
				return
			}
			wire, err := m.soapEnv.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			se, err := soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
			if err != nil {
				t.Fatalf("soap refuses the attack message (mark the case wire:false): %v", err)
			}
			res, err = Verify(EnvelopeFromSOAP(se), m.atts, opts)
			if res != nil {
				t.Fatalf("attack verified after a round trip; want %s", tc.want)
			}
			assertErr(t, err, tc.want)
		})
	}
}

// TestAttackUnsignedAccepted: IsUnsigned is true only for a message without
// any signature, not for one whose signature sits in the wrong place.
func TestAttackUnsignedAccepted(t *testing.T) {
	m := newAttackMsg(t, nil)
	m.env.Header.RemoveChild(m.security(t))
	_, err := Verify(m.env, m.atts, m.opts())
	if !IsUnsigned(err) {
		t.Fatalf("IsUnsigned(%v) = false", err)
	}
	m = newAttackMsg(t, nil)
	sig := m.signature(t)
	m.security(t).RemoveChild(sig)
	other := newHeaderBlock("Other", "urn:evil")
	other.AddChild(sig)
	m.env.Header.AddChild(other)
	_, err = Verify(m.env, m.atts, m.opts())
	if err == nil || IsUnsigned(err) {
		t.Fatalf("misplaced signature: err = %v, IsUnsigned = %v", err, IsUnsigned(err))
	}
	// A signed payload inside the Body of an unsigned message is the
	// payload's business: still "unsigned", not a misplaced signature.
	m = newAttackMsg(t, nil)
	sec := m.security(t)
	sig = m.signature(t)
	sec.RemoveChild(sig)
	m.env.Header.RemoveChild(sec)
	m.env.Body.ChildElements()[0].AddChild(sig)
	_, err = Verify(m.env, m.atts, m.opts())
	if !IsUnsigned(err) {
		t.Fatalf("signature inside the Body payload: IsUnsigned(%v) = false", err)
	}
}

// TestAttackCertificates: the signature is valid, but the signer is not
// trusted (another PKI) or its certificate has expired.
func TestAttackCertificates(t *testing.T) {
	pki := getAttackPKI(t)
	t.Run("outside the trust store", func(t *testing.T) {
		m := newAttackMsg(t, pki.rogue.Leaf)
		_, err := m.verify()
		we := assertErr(t, err, wantErr{failedAuth, "certificate", "AP-LEGIT"})
		if !errors.Is(we, trust.ErrUntrusted) {
			t.Errorf("cause %v, want trust.ErrUntrusted", we.Err)
		}
		// Without a validator the same message verifies: trust is the
		// validator's job, and the result says it was not checked.
		opts := m.opts()
		opts.Validator = nil
		res, err := Verify(m.env, m.atts, opts)
		if err != nil || res.TrustChecked {
			t.Fatalf("without validator: %v, TrustChecked %v", err, res != nil && res.TrustChecked)
		}
	})
	t.Run("self-signed certificate in ds:X509Data", func(t *testing.T) {
		self := testpki.Must(testpki.NewSelfSigned(testpki.Spec{CommonName: "AP-LEGIT", KeySlot: 7}))
		m := newAttackMsg(t, self)
		// Replace the token reference by the certificate itself.
		ki := m.signature(t).SelectElement("ds:KeyInfo")
		ki.RemoveChild(ki.ChildElements()[0])
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(self.Certificate.Raw))
		_, err := m.verify()
		assertErr(t, err, wantErr{failedAuth, "certificate", "AP-LEGIT"})
	})
	t.Run("expired", func(t *testing.T) {
		now := time.Now()
		expired := testpki.Must(pki.legit.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP-EXPIRED", KeySlot: 8,
			NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}))
		m := newAttackMsg(t, expired)
		_, err := m.verify()
		we := assertErr(t, err, wantErr{failedAuth, "certificate", "AP-EXPIRED"})
		var ve *trust.ValidityError
		if !errors.As(we, &ve) || ve.NotYetValid() {
			t.Errorf("cause %v, want an expired-certificate *trust.ValidityError", we.Err)
		}
		// The same certificate was fine two years ago.
		m.at = now.AddDate(-2, 0, 0)
		opts := m.opts()
		opts.ClockSkew = 3 * 366 * 24 * time.Hour // the wsu:Timestamp says "now"
		if _, err := Verify(m.env, m.atts, opts); err != nil {
			t.Fatalf("two years ago: %v", err)
		}
	})
}

// TestAttackReceipt: a receipt whose NRR digests do not match what we
// signed is EBMS:0302, as is one for another message.
func TestAttackReceipt(t *testing.T) {
	sent := newAttackMsg(t, nil)
	vr, err := sent.verify()
	if err != nil {
		t.Fatal(err)
	}
	const sentID = "attack-1@as4gw"
	good := NonRepudiationReceipt(vr, sentID, "receipt-1@as4gw", time.Now())
	if err := CheckReceipt(good, sentID, sent.signed.References); err != nil {
		t.Fatalf("genuine receipt: %v", err)
	}

	// The receiver acknowledges a different message body (another
	// signature over other content) while quoting our MessageId.
	other := newAttackMsg(t, nil)
	other.env.Body.FindElement("//inv:PayTo").SetText("XX00EVIL")
	canon, _ := c14n.Canonicalize(other.env.Body, nil)
	d := crypto.SHA256.New()
	d.Write(canon)
	other.reference(t, "Body").SelectElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
	other.resign(t, other.signer.Key, crypto.SHA256)
	ovr, err := other.verify()
	if err != nil {
		t.Fatal(err)
	}
	bad := NonRepudiationReceipt(ovr, sentID, "receipt-2@as4gw", time.Now())
	assertErr(t, CheckReceipt(bad, sentID, sent.signed.References), wantErr{ebms.CodeInvalidReceipt, "receipt-digest", ""})

	// A receipt that leaves out the attachments.
	short := NonRepudiationReceipt(vr, sentID, "receipt-3@as4gw", time.Now())
	parts := short.SignalMessages[0].Receipt.NonRepudiationInformation.Parts
	short.SignalMessages[0].Receipt.NonRepudiationInformation.Parts = parts[:3]
	assertErr(t, CheckReceipt(short, sentID, sent.signed.References), wantErr{ebms.CodeInvalidReceipt, "receipt-nri", ""})

	// A genuine receipt for another message.
	assertErr(t, CheckReceipt(good, "other@as4gw", sent.signed.References), wantErr{ebms.CodeInvalidReceipt, "receipt-ref", ""})

	// End to end: the genuine receipt is encoded into an envelope, signed by
	// the receiver, parsed back, verified and decoded; then checked. A
	// receiver that edits one NRI digest after signing breaks its own
	// signature; one that edits it before signing yields EBMS:0302.
	for _, tamper := range []bool{false, true} {
		rcpt := NonRepudiationReceipt(vr, sentID, "receipt-4@as4gw", time.Now())
		if tamper {
			ref := rcpt.SignalMessages[0].Receipt.NonRepudiationInformation.Parts[4].Reference
			ref.DigestValue = append([]byte(nil), ref.DigestValue...)
			ref.DigestValue[0] ^= 0xff
		}
		se := soap.NewEnvelope(soap.SOAP12)
		se.Header.AddChild(rcpt.Encode(ebms.EncodeOptions{}))
		signer := sent.pki.legit.Leaf
		if _, err := Sign(EnvelopeFromSOAP(se), nil, SignOptions{Key: signer.Signer(), Certificate: signer.Certificate}); err != nil {
			t.Fatal(err)
		}
		wire, err := se.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		back, err := soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		benv := EnvelopeFromSOAP(back)
		if _, err := Verify(benv, nil, VerifyOptions{Policy: DefaultPolicy(), Validator: sent.pki.validator()}); err != nil {
			t.Fatalf("receipt signature: %v", err)
		}
		err = CheckReceipt(decodeMessaging(t, benv), sentID, sent.signed.References)
		if !tamper && err != nil {
			t.Fatalf("signed genuine receipt: %v", err)
		}
		if tamper {
			assertErr(t, err, wantErr{ebms.CodeInvalidReceipt, "receipt-digest", "cid:part2@as4gw"})
		}
	}
}
