package ebms

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var testTime = time.Date(2024, 5, 1, 10, 0, 0, 123000000, time.UTC)

func richUserMessage() *Messaging {
	return &Messaging{
		ID:             "msg-1",
		MustUnderstand: true,
		UserMessage: &UserMessage{
			MPC: "urn:example:mpc",
			MessageInfo: MessageInfo{
				Timestamp: testTime, MessageID: "a1@sender.example", RefToMessageID: "a0@receiver.example",
			},
			PartyInfo: PartyInfo{
				From: Party{PartyIDs: []PartyID{
					{Value: "5590000001", Type: "urn:oasis:names:tc:ebcore:partyid-type:iso6523:0007"},
					{Value: "urn:example:sender"},
				}, Role: RoleInitiator},
				To: Party{PartyIDs: []PartyID{{Value: "C3", Type: "urn:fdc:peppol.eu:2017:identifiers:ap"}}, Role: RoleResponder},
			},
			CollaborationInfo: CollaborationInfo{
				AgreementRef:   &AgreementRef{Value: "urn:agreement", Type: "urn:agreement-type", PMode: "pm-1"},
				Service:        Service{Value: "urn:service", Type: "urn:service-type"},
				Action:         "Deliver & <confirm>",
				ConversationID: "conv-1",
			},
			MessageProperties: []Property{
				{Name: PropertyOriginalSender, Type: "iso6523-actorid-upis", Value: "0007:5590000001"},
				{Name: PropertyFinalRecipient, Value: "0007:5590000002"},
				{Name: "empty", Value: ""},
			},
			PayloadInfo: []PartInfo{
				{Href: "cid:payload-1@sender.example",
					Schema:      &Schema{Location: "http://example.com/s.xsd", Version: "1.0", Namespace: "urn:ns"},
					Description: &Description{Text: "the invoice", Lang: "sv"},
					PartProperties: []Property{
						{Name: PartPropertyMimeType, Value: "application/xml"},
						{Name: PartPropertyCompressionType, Value: "application/gzip"},
						{Name: PartPropertyCharacterSet, Value: "UTF-8"},
					}},
				{Href: "#body"},
				{Href: "cid:payload-2@sender.example", Description: &Description{Text: "no language"}},
			},
		},
	}
}

func nriReceipt() *SignalMessage {
	return &SignalMessage{
		MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "r1@receiver.example", RefToMessageID: "a1@sender.example"},
		Receipt: &Receipt{NonRepudiationInformation: &NonRepudiationInformation{Parts: []MessagePartNRInformation{
			{Reference: &Reference{
				URI: "#msg-1",
				Transforms: []Transform{{
					Algorithm:           "http://www.w3.org/2001/10/xml-exc-c14n#",
					InclusiveNamespaces: &InclusiveNamespaces{PrefixList: []string{"S12", "eb"}},
				}},
				DigestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
				DigestValue:     []byte{0, 1, 2, 3, 250, 251},
			}},
			{Reference: &Reference{
				URI:             "cid:payload-1@sender.example",
				Transforms:      []Transform{{Algorithm: "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Signature-Transform"}},
				DigestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
				DigestValue:     make([]byte, 32),
			}},
			{MessagePartIdentifier: "part-3"},
			{Reference: &Reference{URI: "#body", DigestAlgorithm: "urn:digest", DigestValue: []byte("x")},
				NonDSReference: true, ReferenceNamespace: "urn:not-dsig"},
			{Reference: &Reference{URI: "#none", DigestAlgorithm: "urn:digest", DigestValue: []byte("y")},
				NonDSReference: true},
		}}},
	}
}

func rawElement(t *testing.T, xml string) *etree.Element {
	t.Helper()
	doc, err := parseXML([]byte(xml))
	if err != nil {
		t.Fatal(err)
	}
	return detachedCopy(doc.Root())
}

func TestRoundTrip(t *testing.T) {
	copyReceipt := &SignalMessage{
		MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "r2@receiver.example", RefToMessageID: "a1@sender.example"},
		Receipt:     &Receipt{UserMessage: richUserMessage().UserMessage},
	}
	errorSignal := &SignalMessage{
		MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "e1@receiver.example", RefToMessageID: "a1@sender.example"},
		Errors: []Error{
			{ErrorCode: CodeValueInconsistent, Severity: SeverityFailure, Category: CategoryContent, Origin: OriginEbMS,
				ShortDescription: "ValueInconsistent", RefToMessageInError: "a1@sender.example",
				Description: &Description{Text: "PartyId \"x\" is not a URI", Lang: "en"}, ErrorDetail: "detail <with> markup & quotes '\""},
			{ErrorCode: "EBMS:4001", Severity: SeverityWarning, Category: "InternalProcess"},
		},
	}
	pull := &SignalMessage{
		MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "p1@sender.example"},
		PullRequest: &PullRequest{MPC: "urn:example:mpc"},
	}
	cases := []struct {
		name string
		m    func(t *testing.T) *Messaging
	}{
		{"user message with all fields", func(*testing.T) *Messaging { return richUserMessage() }},
		{"minimal user message", func(*testing.T) *Messaging {
			return &Messaging{UserMessage: &UserMessage{
				MessageInfo:       MessageInfo{Timestamp: testTime, MessageID: "m@x"},
				PartyInfo:         PartyInfo{From: Party{PartyIDs: []PartyID{{Value: "urn:a"}}, Role: "r"}, To: Party{PartyIDs: []PartyID{{Value: "urn:b"}}, Role: "r"}},
				CollaborationInfo: CollaborationInfo{Service: Service{Value: "urn:s"}, Action: "a", ConversationID: "c"},
			}}
		}},
		{"receipt with NRI", func(*testing.T) *Messaging {
			return &Messaging{ID: "sig-1", MustUnderstand: true, SignalMessages: []*SignalMessage{nriReceipt()}}
		}},
		{"receipt with UserMessage copy", func(*testing.T) *Messaging {
			return &Messaging{MustUnderstand: true, SignalMessages: []*SignalMessage{copyReceipt}}
		}},
		{"receipt with UserMessage copy in an envelope and other content", func(t *testing.T) *Messaging {
			env := rawElement(t, `<S11:Envelope xmlns:S11="`+NamespaceSOAP11+`" xmlns:eb="`+NamespaceEbMS+`"><S11:Header><eb:Messaging><eb:UserMessage>
<eb:MessageInfo><eb:Timestamp>2024-05-01T10:00:00.123Z</eb:Timestamp><eb:MessageId>a1@sender.example</eb:MessageId></eb:MessageInfo>
<eb:PartyInfo><eb:From><eb:PartyId>urn:a</eb:PartyId><eb:Role>r</eb:Role></eb:From><eb:To><eb:PartyId>urn:b</eb:PartyId><eb:Role>r</eb:Role></eb:To></eb:PartyInfo>
<eb:CollaborationInfo><eb:Service>urn:s</eb:Service><eb:Action>a</eb:Action><eb:ConversationId>c</eb:ConversationId></eb:CollaborationInfo>
</eb:UserMessage></eb:Messaging></S11:Header><S11:Body/></S11:Envelope>`)
			decoded, err := (&decoder{}).receipt(wrap(env), "eb:Receipt")
			if err != nil {
				t.Fatal(err)
			}
			decoded.Other = append(decoded.Other, rawElement(t, `<x:Note xmlns:x="urn:x" x:a="1">kept <x:b/> text</x:Note>`))
			return &Messaging{SignalMessages: []*SignalMessage{{
				MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "r3@receiver.example", RefToMessageID: "a1@sender.example"},
				Receipt:     decoded,
			}}}
		}},
		{"error with description and detail", func(*testing.T) *Messaging {
			return &Messaging{MustUnderstand: true, SignalMessages: []*SignalMessage{errorSignal}}
		}},
		{"pull request", func(*testing.T) *Messaging {
			return &Messaging{MustUnderstand: true, SignalMessages: []*SignalMessage{pull, {
				MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "p2@sender.example"}, PullRequest: &PullRequest{},
			}}}
		}},
		{"multiple signals, extension signal and a user message", func(t *testing.T) *Messaging {
			ext := &SignalMessage{
				MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "x1@x"},
				Other:       []*etree.Element{rawElement(t, `<mh:RoutingSignal xmlns:mh="urn:multihop"><mh:Hop>1</mh:Hop></mh:RoutingSignal>`)},
			}
			m := richUserMessage()
			m.SignalMessages = []*SignalMessage{nriReceipt(), errorSignal, pull, ext}
			return m
		}},
	}
	for _, tc := range cases {
		for _, soap11 := range []bool{false, true} {
			name := tc.name + " (SOAP 1.2)"
			if soap11 {
				name = tc.name + " (SOAP 1.1)"
			}
			t.Run(name, func(t *testing.T) {
				m := tc.m(t)
				assertRoundTrip(t, m, soap11)
				_, text := encodeInEnvelope(t, m, soap11)
				checkNamespaceDeclarations(t, text)
			})
		}
	}
}

// wrap puts el under an eb:Receipt so the receipt decoder can be run on it.
func wrap(el *etree.Element) *etree.Element {
	r := etree.NewElement("eb:Receipt")
	r.CreateAttr("xmlns:eb", NamespaceEbMS)
	r.AddChild(el.Copy())
	return r
}

// checkNamespaceDeclarations fails on a declaration that repeats a binding already in scope
// (duplicate) or that nothing in its subtree uses (stray).
func checkNamespaceDeclarations(t *testing.T, text string) {
	t.Helper()
	doc, err := parseXML([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, a := range el.Attr {
			prefix, isDecl := declaredPrefix(a)
			if !isDecl {
				continue
			}
			if parent := el.Parent(); parent != nil {
				if uri, ok := lookupPrefix(parent, prefix); ok && uri == a.Value {
					t.Errorf("duplicate declaration %s=%q on <%s>\n%s", a.FullKey(), a.Value, el.FullTag(), text)
				}
			}
			if !usesPrefix(el, prefix) {
				t.Errorf("stray declaration %s=%q on <%s>\n%s", a.FullKey(), a.Value, el.FullTag(), text)
			}
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
}

func declaredPrefix(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// usesPrefix reports whether el or a descendant (not below a redeclaration) uses prefix.
func usesPrefix(el *etree.Element, prefix string) bool {
	if el.Space == prefix {
		return true
	}
	for _, a := range el.Attr {
		if _, isDecl := declaredPrefix(a); !isDecl && a.Space != "" && a.Space == prefix {
			return true
		}
	}
	for _, c := range el.ChildElements() {
		redeclared := false
		for _, a := range c.Attr {
			if p, ok := declaredPrefix(a); ok && p == prefix {
				redeclared = true
			}
		}
		if !redeclared && usesPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func TestEncodeShape(t *testing.T) {
	m := &Messaging{ID: "h1", MustUnderstand: true, SignalMessages: []*SignalMessage{nriReceipt()}}
	el := m.Encode(EncodeOptions{SOAPPrefix: "env"})
	text := serialize(el)
	for _, want := range []string{
		`<eb:Messaging xmlns:eb="` + NamespaceEbMS + `" xmlns:wsu="` + NamespaceWSU + `" wsu:Id="h1" env:mustUnderstand="true">`,
		`<eb:Timestamp>2024-05-01T10:00:00.123Z</eb:Timestamp>`,
		`<ebbp:NonRepudiationInformation xmlns:ebbp="` + NamespaceEBBP + `" xmlns:ds="` + NamespaceDS + `">`,
		`<ec:InclusiveNamespaces xmlns:ec="` + NamespaceExcC14N + `" PrefixList="S12 eb"></ec:InclusiveNamespaces>`,
		`<ds:DigestValue>AAECA/r7</ds:DigestValue>`,
		`<Reference xmlns="urn:not-dsig" URI="#body">`,
		`<ebbp:MessagePartIdentifier>part-3</ebbp:MessagePartIdentifier>`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("encoded header lacks %s\n%s", want, text)
		}
	}
	// No SOAP namespace declared: the envelope owns it.
	if strings.Contains(text, NamespaceSOAP12) {
		t.Errorf("header declares the SOAP namespace itself\n%s", text)
	}
	// Without an ID no wsu declaration, without mustUnderstand no SOAP attribute.
	bare := serialize((&Messaging{SignalMessages: []*SignalMessage{{MessageInfo: MessageInfo{Timestamp: testTime, MessageID: "p@x"}, PullRequest: &PullRequest{}}}}).Encode(EncodeOptions{}))
	if strings.Contains(bare, "wsu") || strings.Contains(bare, "mustUnderstand") {
		t.Errorf("bare header: %s", bare)
	}
	// Encoding is deterministic and writes canonical end tags.
	first, second := serialize(m.Encode(EncodeOptions{})), serialize(m.Encode(EncodeOptions{}))
	if first != second {
		t.Error("Encode is not deterministic")
	}
	if strings.Contains(text, "/>") {
		t.Errorf("self-closed element in canonical output\n%s", text)
	}
}

func TestDetachedCopyCarriesNamespaces(t *testing.T) {
	doc, err := parseXML([]byte(`<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u" xmlns="urn:default"><a:kept b:attr="1"><inner/><a:x xmlns:a="urn:other"/></a:kept></a:root>`))
	if err != nil {
		t.Fatal(err)
	}
	cp := detachedCopy(doc.Root().ChildElements()[0])
	cp.SortAttrs()
	got := serialize(cp)
	want := `<a:kept xmlns="urn:default" b:attr="1" xmlns:a="urn:a" xmlns:b="urn:b"><inner></inner><a:x xmlns:a="urn:other"></a:x></a:kept>`
	if got != want {
		t.Errorf("detached copy\n got %s\nwant %s", got, want)
	}
}
