package wssec

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
)

// Sign must produce well-formed, verifiable XML whatever prefixes the
// envelope and an existing Security header use.
func TestSignNamespaceEdgeCases(t *testing.T) {
	const msg = `<eb:Messaging xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"><eb:UserMessage><eb:MessageInfo><eb:Timestamp>2026-11-26T10:00:00.000Z</eb:Timestamp><eb:MessageId>ns@as4gw</eb:MessageId></eb:MessageInfo></eb:UserMessage></eb:Messaging>`
	cases := map[string]string{
		// SOAP namespace as the default namespace: no prefix for
		// mustUnderstand to borrow.
		"default SOAP namespace": `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header>` + msg + `</Header><Body><x:p xmlns:x="urn:x">1</x:p></Body></Envelope>`,
		// A Security header that already exists (another component wrote
		// it) under other prefixes, with "wsse" and "wsu" bound to other
		// namespaces in scope.
		"existing Security, foreign prefixes": `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="urn:not-wsse" xmlns:wsu="urn:not-wsu"><soap:Header>` +
			`<o:Security xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" soap:mustUnderstand="true"></o:Security>` + msg +
			`</soap:Header><soap:Body wsu:foo="bar"><x:p xmlns:x="urn:x">1</x:p></soap:Body></soap:Envelope>`,
		// The Body uses the wsu prefix for another namespace: the wsu:Id
		// must not rebind it.
		"wsu prefix taken on the Body": `<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Header>` + msg +
			`</S:Header><S:Body xmlns:wsu="urn:other" wsu:x="1"><wsu:p>1</wsu:p></S:Body></S:Envelope>`,
		"SOAP 1.1": `<S11:Envelope xmlns:S11="http://schemas.xmlsoap.org/soap/envelope/"><S11:Header>` + msg + `</S11:Header><S11:Body><x:p xmlns:x="urn:x">1</x:p></S11:Body></S11:Envelope>`,
	}
	pki := getAttackPKI(t)
	for name, xml := range cases {
		t.Run(name, func(t *testing.T) {
			se, err := soap.ParseEnvelope(strings.NewReader(xml), soap.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			atts := []Attachment{memAttachment("a@x", []byte("a"))}
			if _, err := Sign(EnvelopeFromSOAP(se), atts, SignOptions{Key: pki.legit.Leaf.Signer(), Certificate: pki.legit.Leaf.Certificate, Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
			wire, err := se.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			// soap's parser refuses undeclared prefixes: well-formed output.
			back, err := soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
			if err != nil {
				t.Fatalf("%v\n%s", err, wire)
			}
			env := EnvelopeFromSOAP(back)
			res, err := Verify(env, atts, VerifyOptions{Policy: DefaultPolicy(), Validator: pki.validator()})
			if err != nil {
				t.Fatalf("%v\n%s", err, wire)
			}
			if !res.MessagingSigned || !res.BodySigned {
				t.Errorf("coverage %+v", res)
			}
			sec, _ := FindSecurity(env.Header)
			if sec == nil {
				t.Fatal("no Security header")
			}
			mu := ""
			for _, a := range sec.Attr {
				if a.Key == "mustUnderstand" && a.NamespaceURI() == env.Root.NamespaceURI() {
					mu = a.Value
				}
			}
			if mu != "true" && mu != "1" {
				t.Errorf("Security mustUnderstand = %q in the envelope's namespace\n%s", mu, wire)
			}
			// Attributes that were there keep their namespaces.
			for _, a := range env.Body.Attr {
				if a.Space == "wsu" && a.Key != "Id" && a.NamespaceURI() == NSWSU {
					t.Errorf("Body attribute %s was rebound to the wsu namespace\n%s", a.FullKey(), wire)
				}
			}
			if p := env.Body.FindElement("wsu:p"); p != nil && p.NamespaceURI() != "urn:other" {
				t.Errorf("<wsu:p> is now in %q", p.NamespaceURI())
			}
		})
	}
}

func TestEnsureSecurityNoHeader(t *testing.T) {
	if _, err := EnsureSecurity(nil, "S12"); err == nil {
		t.Error("EnsureSecurity(nil) succeeded")
	}
	h := etree.NewElement("S12:Header")
	h.CreateAttr("xmlns:S12", NSSOAP12)
	sec, err := EnsureSecurity(h, "")
	if err != nil || sec == nil || sec.SelectAttr("S12:mustUnderstand") == nil {
		t.Fatalf("EnsureSecurity with an empty prefix: %v, %v", sec, err)
	}
}
