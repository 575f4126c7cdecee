package ebms

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// validUser is a complete UserMessage header inside an envelope; the validation cases below
// break it one rule at a time with a string replacement.
const validUser = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"><S12:Header>
<eb:Messaging S12:mustUnderstand="true"><eb:UserMessage>
 <eb:MessageInfo><eb:Timestamp>2024-05-01T10:00:00.123Z</eb:Timestamp><eb:MessageId>a1@sender.example</eb:MessageId></eb:MessageInfo>
 <eb:PartyInfo>
  <eb:From><eb:PartyId type="urn:oasis:names:tc:ebcore:partyid-type:iso6523:0007">5590000001</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator</eb:Role></eb:From>
  <eb:To><eb:PartyId>urn:example:to</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder</eb:Role></eb:To>
 </eb:PartyInfo>
 <eb:CollaborationInfo><eb:Service type="svc">billing</eb:Service><eb:Action>Submit</eb:Action><eb:ConversationId>c1</eb:ConversationId></eb:CollaborationInfo>
 <eb:MessageProperties><eb:Property name="originalSender">s</eb:Property></eb:MessageProperties>
 <eb:PayloadInfo><eb:PartInfo href="cid:p1@x"><eb:Schema location="http://x/s.xsd"/></eb:PartInfo><eb:PartInfo href="cid:p2@x"/></eb:PayloadInfo>
</eb:UserMessage></eb:Messaging></S12:Header><S12:Body/></S12:Envelope>`

// validReceipt is a signal header with an NRI receipt.
const validReceipt = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"><S12:Header>
<eb:Messaging S12:mustUnderstand="true"><eb:SignalMessage>
 <eb:MessageInfo><eb:Timestamp>2024-05-01T10:00:00Z</eb:Timestamp><eb:MessageId>r1@receiver.example</eb:MessageId><eb:RefToMessageId>a1@sender.example</eb:RefToMessageId></eb:MessageInfo>
 <eb:Receipt><ebbp:NonRepudiationInformation xmlns:ebbp="http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <ebbp:MessagePartNRInformation><ds:Reference URI="#m"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAEC</ds:DigestValue></ds:Reference></ebbp:MessagePartNRInformation>
 </ebbp:NonRepudiationInformation></eb:Receipt>
</eb:SignalMessage></eb:Messaging></S12:Header><S12:Body/></S12:Envelope>`

// validError is a signal header with an Error.
const validError = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"><S12:Header>
<eb:Messaging S12:mustUnderstand="true"><eb:SignalMessage>
 <eb:MessageInfo><eb:Timestamp>2024-05-01T10:00:00Z</eb:Timestamp><eb:MessageId>e1@receiver.example</eb:MessageId></eb:MessageInfo>
 <eb:Error errorCode="EBMS:0004" severity="failure" refToMessageInError="a1@sender.example"><eb:Description xml:lang="en">x</eb:Description><eb:ErrorDetail>d</eb:ErrorDetail></eb:Error>
</eb:SignalMessage></eb:Messaging></S12:Header><S12:Body/></S12:Envelope>`

func decodeString(t *testing.T, xml string, opts DecodeOptions) (*Messaging, error) {
	t.Helper()
	doc, err := parseXML([]byte(xml))
	if err != nil {
		t.Fatalf("test input does not parse: %v\n%s", err, xml)
	}
	el, err := envelopeMessaging(doc)
	if err != nil {
		return nil, err
	}
	return DecodeWithOptions(el, opts)
}

func TestDecodeValidInputs(t *testing.T) {
	for name, xml := range map[string]string{"user": validUser, "receipt": validReceipt, "error": validError} {
		if _, err := decodeString(t, xml, DecodeOptions{StrictMessageIDs: true}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeValidationRules(t *testing.T) {
	const um = "eb:Messaging/eb:UserMessage"
	const sm = "eb:Messaging/eb:SignalMessage"
	tests := []struct {
		name     string
		base     string
		old, new string
		strict   bool
		code     Code
		element  string
	}{
		// Messaging
		{"empty Messaging", validUser, drop, "eb:UserMessage", false, CodeInvalidHeader, "eb:Messaging"},
		{"two UserMessages", validUser, `</eb:UserMessage>`, `</eb:UserMessage><eb:UserMessage/>`, false, CodeInvalidHeader, um},
		{"unknown ebMS element", validUser, `<eb:MessageInfo>`, `<eb:Bogus/><eb:MessageInfo>`, false, CodeInvalidHeader, um + "/eb:Bogus"},
		{"mustUnderstand not boolean", validUser, `S12:mustUnderstand="true"`, `S12:mustUnderstand="yes"`, false, CodeValueNotRecognized, "eb:Messaging/@S12:mustUnderstand"},
		{"SOAP 1.1 mustUnderstand under another prefix", validUser, `S12:mustUnderstand="true"`, `xmlns:p="http://schemas.xmlsoap.org/soap/envelope/" p:mustUnderstand="2"`, false, CodeValueNotRecognized, "eb:Messaging/@S11:mustUnderstand"},
		// MessageInfo
		{"missing MessageInfo", validUser, drop, "eb:MessageInfo", false, CodeInvalidHeader, um + "/eb:MessageInfo"},
		{"two MessageInfo", validUser, `<eb:PartyInfo>`, `<eb:MessageInfo/><eb:PartyInfo>`, false, CodeInvalidHeader, um + "/eb:MessageInfo"},
		{"missing Timestamp", validUser, `<eb:Timestamp>2024-05-01T10:00:00.123Z</eb:Timestamp>`, ``, false, CodeInvalidHeader, um + "/eb:MessageInfo/eb:Timestamp"},
		{"Timestamp not a dateTime", validUser, `2024-05-01T10:00:00.123Z`, `yesterday`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:Timestamp"},
		{"Timestamp no such day", validUser, `2024-05-01T10:00:00.123Z`, `2023-02-29T10:00:00Z`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:Timestamp"},
		{"Timestamp out of range in UTC", validUser, `2024-05-01T10:00:00.123Z`, `9999-12-31T23:30:00-01:00`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:Timestamp"},
		{"undeclared prefix", validUser, `<eb:Action>Submit</eb:Action>`, `<eb:Action>Submit</eb:Action><zz:Ext/>`, false, CodeInvalidHeader, "eb:Messaging"},
		{"undeclared attribute prefix", validUser, `<eb:Action>`, `<eb:Action zz:a="1">`, false, CodeInvalidHeader, "eb:Messaging"},
		{"Timestamp date only", validUser, `2024-05-01T10:00:00.123Z`, `2024-05-01`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:Timestamp"},
		{"missing MessageId", validUser, `<eb:MessageId>a1@sender.example</eb:MessageId>`, ``, false, CodeInvalidHeader, um + "/eb:MessageInfo/eb:MessageId"},
		{"empty MessageId", validUser, `<eb:MessageId>a1@sender.example</eb:MessageId>`, `<eb:MessageId> </eb:MessageId>`, false, CodeInvalidHeader, um + "/eb:MessageInfo/eb:MessageId"},
		{"two MessageIds", validUser, `<eb:MessageId>a1@sender.example</eb:MessageId>`, `<eb:MessageId>a1@x</eb:MessageId><eb:MessageId>a2@x</eb:MessageId>`, false, CodeInvalidHeader, um + "/eb:MessageInfo/eb:MessageId"},
		{"MessageId with space", validUser, `a1@sender.example`, `a 1@sender.example`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:MessageId"},
		{"MessageId with angle brackets", validUser, `a1@sender.example`, `&lt;a1@sender.example&gt;`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:MessageId"},
		{"MessageId non-ASCII", validUser, `a1@sender.example`, `ä1@sender.example`, false, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:MessageId"},
		{"strict: MessageId without @", validUser, `a1@sender.example`, `a1-sender`, true, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:MessageId"},
		{"strict: MessageId id-right with colon", validUser, `a1@sender.example`, `a1@UK:AP01`, true, CodeValueNotRecognized, um + "/eb:MessageInfo/eb:MessageId"},
		{"empty RefToMessageId", validUser, `</eb:MessageId>`, `</eb:MessageId><eb:RefToMessageId/>`, false, CodeInvalidHeader, um + "/eb:MessageInfo/eb:RefToMessageId"},
		{"child element in a value", validUser, `<eb:Action>Submit</eb:Action>`, `<eb:Action>Sub<b/>mit</eb:Action>`, false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:Action"},
		// PartyInfo
		{"missing PartyInfo", validUser, drop, "eb:PartyInfo", false, CodeInvalidHeader, um + "/eb:PartyInfo"},
		{"missing From", validUser, drop, "eb:From", false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:From"},
		{"missing To", validUser, drop, "eb:To", false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:To"},
		{"From without PartyId", validUser, `<eb:PartyId type="urn:oasis:names:tc:ebcore:partyid-type:iso6523:0007">5590000001</eb:PartyId>`, ``, false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:From/eb:PartyId"},
		{"From without Role", validUser, `<eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator</eb:Role>`, ``, false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:From/eb:Role"},
		{"empty Role", validUser, `<eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator</eb:Role>`, `<eb:Role/>`, false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:From/eb:Role"},
		{"empty PartyId", validUser, `<eb:PartyId>urn:example:to</eb:PartyId>`, `<eb:PartyId type="t"></eb:PartyId>`, false, CodeInvalidHeader, um + "/eb:PartyInfo/eb:To/eb:PartyId"},
		{"untyped PartyId with ISO 6523 value", validUser, `<eb:PartyId>urn:example:to</eb:PartyId>`, `<eb:PartyId>0007:5590000001</eb:PartyId>`, false, CodeValueInconsistent, um + "/eb:PartyInfo/eb:To/eb:PartyId"},
		{"untyped PartyId with space", validUser, `<eb:PartyId>urn:example:to</eb:PartyId>`, `<eb:PartyId>party two</eb:PartyId>`, false, CodeValueInconsistent, um + "/eb:PartyInfo/eb:To/eb:PartyId"},
		{"second untyped PartyId bad", validUser, `<eb:PartyId>urn:example:to</eb:PartyId>`, `<eb:PartyId>urn:example:to</eb:PartyId><eb:PartyId>a|b</eb:PartyId>`, false, CodeValueInconsistent, um + "/eb:PartyInfo/eb:To/eb:PartyId[2]"},
		{"empty type means untyped", validUser, `<eb:PartyId>urn:example:to</eb:PartyId>`, `<eb:PartyId type="">0007:1</eb:PartyId>`, false, CodeValueInconsistent, um + "/eb:PartyInfo/eb:To/eb:PartyId"},
		// CollaborationInfo
		{"missing CollaborationInfo", validUser, drop, "eb:CollaborationInfo", false, CodeInvalidHeader, um + "/eb:CollaborationInfo"},
		{"missing Service", validUser, `<eb:Service type="svc">billing</eb:Service>`, ``, false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:Service"},
		{"untyped Service not a URI", validUser, `<eb:Service type="svc">billing</eb:Service>`, `<eb:Service>bill ing</eb:Service>`, false, CodeValueInconsistent, um + "/eb:CollaborationInfo/eb:Service"},
		{"missing Action", validUser, `<eb:Action>Submit</eb:Action>`, ``, false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:Action"},
		{"blank Action", validUser, `<eb:Action>Submit</eb:Action>`, "<eb:Action>\n  </eb:Action>", false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:Action"},
		{"missing ConversationId", validUser, `<eb:ConversationId>c1</eb:ConversationId>`, ``, false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:ConversationId"},
		{"two AgreementRefs", validUser, `<eb:Service`, `<eb:AgreementRef>a</eb:AgreementRef><eb:AgreementRef>b</eb:AgreementRef><eb:Service`, false, CodeInvalidHeader, um + "/eb:CollaborationInfo/eb:AgreementRef"},
		// Properties and payloads
		{"Property without name", validUser, `<eb:Property name="originalSender">`, `<eb:Property>`, false, CodeInvalidHeader, um + "/eb:MessageProperties/eb:Property/@name"},
		{"PartInfo described twice", validUser, `href="cid:p2@x"`, `href="cid:p1@x"`, false, CodeValueInconsistent, um + "/eb:PayloadInfo/eb:PartInfo[2]/@href"},
		{"Schema without location", validUser, `<eb:Schema location="http://x/s.xsd"/>`, `<eb:Schema version="1"/>`, false, CodeInvalidHeader, um + "/eb:PayloadInfo/eb:PartInfo[1]/eb:Schema/@location"},
		{"unknown element in PartInfo", validUser, `<eb:Schema location="http://x/s.xsd"/>`, `<eb:Foo/>`, false, CodeInvalidHeader, um + "/eb:PayloadInfo/eb:PartInfo[1]/eb:Foo"},
		// SignalMessage and Receipt
		{"signal without MessageInfo", validReceipt, drop, "eb:MessageInfo", false, CodeInvalidHeader, sm + "/eb:MessageInfo"},
		{"signal without signal", validReceipt, drop, "eb:Receipt", false, CodeInvalidHeader, sm},
		{"two Receipts", validReceipt, `</eb:Receipt>`, `</eb:Receipt><eb:Receipt><x/></eb:Receipt>`, false, CodeInvalidHeader, sm + "/eb:Receipt"},
		{"Receipt without RefToMessageId", validReceipt, `<eb:RefToMessageId>a1@sender.example</eb:RefToMessageId>`, ``, false, CodeValueInconsistent, sm + "/eb:MessageInfo/eb:RefToMessageId"},
		{"empty Receipt", validReceipt, drop, "ebbp:NonRepudiationInformation", false, CodeInvalidHeader, sm + "/eb:Receipt"},
		{"NRI without parts", validReceipt, drop, "ebbp:MessagePartNRInformation", false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation"},
		{"two NRI", validReceipt, `</eb:Receipt>`, `<ebbp:NonRepudiationInformation xmlns:ebbp="http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"/></eb:Receipt>`, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation"},
		{"unknown ebbp element in NRI", validReceipt, `<ebbp:MessagePartNRInformation>`, `<ebbp:Other/><ebbp:MessagePartNRInformation>`, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:Other"},
		{"part without Reference", validReceipt, drop, "ds:Reference", false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference"},
		{"part with two References", validReceipt, `</ebbp:MessagePartNRInformation>`, `<ebbp:MessagePartIdentifier>x</ebbp:MessagePartIdentifier></ebbp:MessagePartNRInformation>`, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation"},
		{"Reference without DigestMethod", validReceipt, `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>`, ``, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference/ds:DigestMethod"},
		{"DigestMethod without Algorithm", validReceipt, `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>`, `<ds:DigestMethod/>`, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference/ds:DigestMethod/@Algorithm"},
		{"Reference without DigestValue", validReceipt, `<ds:DigestValue>AAEC</ds:DigestValue>`, ``, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference/ds:DigestValue"},
		{"DigestValue not base64", validReceipt, `AAEC`, `A*EC`, false, CodeValueNotRecognized, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference/ds:DigestValue"},
		{"Transform without Algorithm", validReceipt, `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`, `<ds:Transform/>`, false, CodeInvalidHeader, sm + "/eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference/ds:Transforms/ds:Transform/@Algorithm"},
		{"invalid UserMessage copy", validReceipt, `<ebbp:NonRepudiationInformation`, `<eb:UserMessage/><ebbp:NonRepudiationInformation`, false, CodeInvalidHeader, sm + "/eb:Receipt/eb:UserMessage/eb:MessageInfo"},
		{"invalid UserMessage in envelope copy", validReceipt, `<ebbp:NonRepudiationInformation`, `<S11:Envelope xmlns:S11="http://schemas.xmlsoap.org/soap/envelope/"><S11:Header><eb:Messaging><eb:UserMessage/></eb:Messaging></S11:Header></S11:Envelope><ebbp:NonRepudiationInformation`, false, CodeInvalidHeader, sm + "/eb:Receipt/S11:Envelope/S11:Header/eb:Messaging/eb:UserMessage/eb:MessageInfo"},
		{"second signal invalid", validReceipt, `</eb:SignalMessage>`, `</eb:SignalMessage><eb:SignalMessage><eb:MessageInfo><eb:Timestamp>x</eb:Timestamp><eb:MessageId>m@x</eb:MessageId></eb:MessageInfo><eb:PullRequest/></eb:SignalMessage>`, false, CodeValueNotRecognized, "eb:Messaging/eb:SignalMessage[2]/eb:MessageInfo/eb:Timestamp"},
		// Error
		{"Error without errorCode", validError, `errorCode="EBMS:0004" `, ``, false, CodeInvalidHeader, sm + "/eb:Error/@errorCode"},
		{"Error without severity", validError, `severity="failure" `, ``, false, CodeInvalidHeader, sm + "/eb:Error/@severity"},
		{"Error with unknown severity", validError, `severity="failure"`, `severity="fatal"`, false, CodeValueNotRecognized, sm + "/eb:Error/@severity"},
		{"Error refToMessageInError with space", validError, `refToMessageInError="a1@sender.example"`, `refToMessageInError="a 1"`, false, CodeValueNotRecognized, sm + "/eb:Error/@refToMessageInError"},
		{"Error with two Descriptions", validError, `<eb:ErrorDetail>`, `<eb:Description xml:lang="en">y</eb:Description><eb:ErrorDetail>`, false, CodeInvalidHeader, sm + "/eb:Error/eb:Description"},
		{"second Error invalid", validError, `</eb:Error>`, `</eb:Error><eb:Error errorCode="EBMS:0001"/>`, false, CodeInvalidHeader, sm + "/eb:Error[2]/@severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var xml string
			if tt.old == drop {
				xml = dropElement(t, tt.base, tt.new)
			} else {
				if !strings.Contains(tt.base, tt.old) {
					t.Fatalf("test case does not apply: %q not in base", tt.old)
				}
				xml = strings.Replace(tt.base, tt.old, tt.new, 1)
			}
			_, err := decodeString(t, xml, DecodeOptions{StrictMessageIDs: tt.strict})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			if ve.Code != tt.code || ve.Element != tt.element {
				t.Errorf("got %s at %s (%s), want %s at %s", ve.Code, ve.Element, ve.Detail, tt.code, tt.element)
			}
		})
	}
}

// drop as the "old" text of a validation case means: remove the first element named "new".
const drop = "\x00drop"

// dropElement removes the first element with the given qualified name (not nested in itself).
func dropElement(t *testing.T, xml, tag string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<` + regexp.QuoteMeta(tag) + `(\s[^>]*)?(/>|>.*?</` + regexp.QuoteMeta(tag) + `>)`)
	loc := re.FindStringIndex(xml)
	if loc == nil {
		t.Fatalf("test case does not apply: no <%s> in base", tag)
	}
	return xml[:loc[0]] + xml[loc[1]:]
}

func TestDecodeRejectsOtherElements(t *testing.T) {
	if _, err := Decode(nil); err == nil {
		t.Error("Decode(nil) succeeded")
	}
	el := etree.NewElement("eb:Messaging")
	el.CreateAttr("xmlns:eb", "urn:not-ebms")
	var ve *ValidationError
	if _, err := Decode(el); !errors.As(err, &ve) || ve.Code != CodeInvalidHeader {
		t.Errorf("element in the wrong namespace: got %v", err)
	}
}

// TestDecodeTolerance covers what real peers send and must be accepted.
func TestDecodeTolerance(t *testing.T) {
	t.Run("other prefixes, default namespace, SOAP 1.1 mustUnderstand 0", func(t *testing.T) {
		xml := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>
<Messaging xmlns="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/" soap:mustUnderstand="0" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" u:Id="hdr">
<ns2:UserMessage xmlns:ns2="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/" mpc=" urn:mpc ">
 <MessageInfo><Timestamp> 2023-03-09T10:23:26.8542515+01:00 </Timestamp><MessageId>
   49267c79-d822-45d9-aa91-c57b3ca508db
 </MessageId></MessageInfo>
 <PartyInfo><From><PartyId>flame-c2</PartyId><Role>Sender</Role></From><To><PartyId type="t">B</PartyId><Role>Receiver</Role></To></PartyInfo>
 <CollaborationInfo><Service>SRV_SIMPLE</Service><Action>Act<!-- a comment -->ion
  </Action><ConversationId>c</ConversationId><x:Extension xmlns:x="urn:x"/></CollaborationInfo>
 <PayloadInfo><PartInfo><PartProperties><Property name="MimeType">text/xml</Property></PartProperties></PartInfo></PayloadInfo>
</ns2:UserMessage></Messaging></soap:Header></soap:Envelope>`
		m, err := decodeString(t, xml, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u := m.UserMessage
		eq(t, "ID", m.ID, "hdr")
		eq(t, "MustUnderstand", m.MustUnderstand, false)
		eq(t, "MPC", u.MPC, "urn:mpc")
		eq(t, "MessageId", u.MessageInfo.MessageID, "49267c79-d822-45d9-aa91-c57b3ca508db")
		eq(t, "Timestamp", u.MessageInfo.Timestamp, time.Date(2023, 3, 9, 9, 23, 26, 854251500, time.UTC))
		eq(t, "From", u.PartyInfo.From.PartyIDs[0].Value, "flame-c2")
		eq(t, "Action", u.CollaborationInfo.Action, "Action")
		eq(t, "body payload", u.PayloadInfo[0].IsBodyPayload(), true)
	})
	for _, v := range []struct {
		attr string
		want bool
	}{
		{`S12:mustUnderstand="1"`, true}, {`S12:mustUnderstand="false"`, false}, {`S12:mustUnderstand=" true "`, true},
		{`xmlns:mu="http://www.w3.org/2003/05/soap-envelope" mu:mustUnderstand="true"`, true},
		{`mustUnderstand="true"`, false},                    // unqualified: not the SOAP attribute
		{`xmlns:x="urn:x" x:mustUnderstand="maybe"`, false}, // other namespace: not the SOAP attribute
		{``, false},
	} {
		xml := strings.Replace(validUser, `S12:mustUnderstand="true"`, v.attr, 1)
		m, err := decodeString(t, xml, DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", v.attr, err)
			continue
		}
		if m.MustUnderstand != v.want {
			t.Errorf("%s: MustUnderstand = %v, want %v", v.attr, m.MustUnderstand, v.want)
		}
	}
	t.Run("error attributes normalised", func(t *testing.T) {
		xml := strings.Replace(validError, `errorCode="EBMS:0004" severity="failure"`, `errorCode=" ebms:0004 " severity="Warning" category="UnPackaging" refToMessageInError=""`, 1)
		xml = strings.Replace(xml, `refToMessageInError="a1@sender.example"`, ``, 1)
		m, err := decodeString(t, xml, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := m.SignalMessages[0].Errors[0]
		eq(t, "ErrorCode", e.ErrorCode, CodeOther)
		eq(t, "Severity", e.Severity, SeverityWarning)
		eq(t, "Category", e.Category, CategoryUnpackaging)
		eq(t, "RefToMessageInError", e.RefToMessageInError, "")
		eq(t, "Description", *e.Description, Description{Text: "x", Lang: "en"})
	})
	t.Run("custom error code and category kept", func(t *testing.T) {
		xml := strings.Replace(validError, `errorCode="EBMS:0004"`, `errorCode="EBMS:4001" category="InternalProcess"`, 1)
		m, err := decodeString(t, xml, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := m.SignalMessages[0].Errors[0]
		eq(t, "ErrorCode", e.ErrorCode, Code("EBMS:4001"))
		eq(t, "Category", e.Category, Category("InternalProcess"))
	})
	t.Run("Part 2 extension signal kept", func(t *testing.T) {
		xml := strings.Replace(validError, `<eb:Error `, `<x:Custom xmlns:x="urn:x"><x:v>1</x:v></x:Custom><eb:Error `, 1)
		m, err := decodeString(t, xml, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "Other", len(m.SignalMessages[0].Other), 1)
		eq(t, "Other xml", serialize(m.SignalMessages[0].Other[0]), `<x:Custom xmlns:x="urn:x"><x:v>1</x:v></x:Custom>`)
	})
}

func TestFindMessaging(t *testing.T) {
	header := func(inner string) *etree.Element {
		doc, err := parseXML([]byte(`<S12:Header xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:e="` + NamespaceEbMS + `">` + inner + `</S12:Header>`))
		if err != nil {
			t.Fatal(err)
		}
		return doc.Root()
	}
	if el, err := FindMessaging(header(`<x:Security xmlns:x="urn:x"/><e:Messaging/>`)); err != nil || el.Tag != "Messaging" {
		t.Errorf("one Messaging: %v %v", el, err)
	}
	var ve *ValidationError
	if _, err := FindMessaging(header(`<e:Messaging/><e:Messaging/>`)); !errors.As(err, &ve) || ve.Code != CodeInvalidHeader {
		t.Errorf("two Messaging headers: got %v", err)
	}
	if _, err := FindMessaging(header(`<Messaging/>`)); !errors.As(err, &ve) || ve.Code != CodeInvalidHeader {
		t.Errorf("no Messaging in the ebMS namespace: got %v", err)
	}
	if _, err := FindMessaging(nil); err == nil {
		t.Error("nil header accepted")
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := decodeString(t, strings.Replace(validUser, `<eb:Action>Submit</eb:Action>`, ``, 1), DecodeOptions{})
	want := "ebms: EBMS:0009 InvalidHeader at eb:Messaging/eb:UserMessage/eb:CollaborationInfo/eb:Action: missing required element"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	var ve *ValidationError
	errors.As(err, &ve)
	sig := ve.SignalError("a1@sender.example")
	eq(t, "signal code", sig.ErrorCode, CodeInvalidHeader)
	eq(t, "signal severity", sig.Severity, SeverityFailure)
	eq(t, "signal category", sig.Category, CategoryUnpackaging)
	eq(t, "signal ref", sig.RefToMessageInError, "a1@sender.example")
	eq(t, "signal detail", sig.ErrorDetail, "eb:Messaging/eb:UserMessage/eb:CollaborationInfo/eb:Action: missing required element")
}
