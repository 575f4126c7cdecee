package ebms

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// decodeVector extracts, parses and decodes the eb:Messaging header of one vector file. It
// returns found=false for files that are not AS4 messages (P-Modes, readme files).
func decodeVector(t *testing.T, dir, name string) (m *Messaging, found bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	xml := extractRootXML(data)
	doc, err := parseXML(xml)
	if err != nil {
		if bytes.Contains(data, []byte("Messaging")) {
			t.Fatalf("cannot parse the envelope: %v", err)
		}
		return nil, false
	}
	if findAnyMessaging(doc.Root()) == nil {
		return nil, false
	}
	el, err := envelopeMessaging(doc)
	if err != nil {
		t.Fatalf("locating eb:Messaging: %v", err)
	}
	m, err = Decode(el)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return m, true
}

// summary describes a decoded header in one line for the test log.
func summary(m *Messaging) string {
	var parts []string
	if u := m.UserMessage; u != nil {
		parts = append(parts, fmt.Sprintf("UserMessage %s (%d parts)", u.MessageInfo.MessageID, len(u.PayloadInfo)))
	}
	for _, s := range m.SignalMessages {
		var kind []string
		if s.PullRequest != nil {
			kind = append(kind, "PullRequest")
		}
		if r := s.Receipt; r != nil {
			switch {
			case r.NonRepudiationInformation != nil:
				nonDS := ""
				for _, p := range r.NonRepudiationInformation.Parts {
					if p.NonDSReference {
						nonDS = ", non-ds References"
						break
					}
				}
				kind = append(kind, fmt.Sprintf("Receipt NRI %d refs%s", len(r.NonRepudiationInformation.Parts), nonDS))
			case r.UserMessage != nil && r.UserMessageInEnvelope:
				kind = append(kind, "Receipt with UserMessage copy (in envelope)")
			case r.UserMessage != nil:
				kind = append(kind, "Receipt with UserMessage copy")
			default:
				kind = append(kind, "Receipt (other content)")
			}
		}
		for _, e := range s.Errors {
			kind = append(kind, fmt.Sprintf("Error %s %s", e.ErrorCode, e.Severity))
		}
		parts = append(parts, fmt.Sprintf("%s %s", strings.Join(kind, "+"), s.MessageInfo.MessageID))
	}
	return strings.Join(parts, "; ")
}

// vectorChecks assert values listed in the vectors' MANIFEST.md.
var vectorChecks = map[string]func(t *testing.T, m *Messaging){
	"phase4/dump-raw.as4out": func(t *testing.T, m *Messaging) {
		u := mustUser(t, m)
		eq(t, "ID", m.ID, "phase4-msg-7dd929c7-ded5-4413-be57-d21af2c87b69")
		eq(t, "MustUnderstand", m.MustUnderstand, true)
		eq(t, "MessageId", u.MessageInfo.MessageID, "17a7c374-efe3-41e2-ac0d-8a8f47529e47@phase4")
		eqTime(t, u.MessageInfo.Timestamp, "2026-01-29T15:39:03.805Z")
		eq(t, "From", u.PartyInfo.From, Party{PartyIDs: []PartyID{{"POP000306", "urn:fdc:peppol.eu:2017:identifiers:ap"}}, Role: RoleInitiator})
		eq(t, "To", u.PartyInfo.To, Party{PartyIDs: []PartyID{{"POP000306", "urn:fdc:peppol.eu:2017:identifiers:ap"}}, Role: RoleResponder})
		eq(t, "Service", u.CollaborationInfo.Service, Service{"urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", "cenbii-procid-ubl"})
		eq(t, "Action", u.CollaborationInfo.Action, "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1")
		eq(t, "AgreementRef", u.CollaborationInfo.AgreementRef.Value, "urn:fdc:peppol.eu:2017:agreements:tia:ap_provider")
		eq(t, "ConversationId", u.CollaborationInfo.ConversationID, "phase4@Conv-4045816466640743733")
		eqProp(t, u, PropertyOriginalSender, "9915:phase4-test-sender")
		eqProp(t, u, PropertyFinalRecipient, "9915:helger")
		eq(t, "parts", len(u.PayloadInfo), 1)
		p := u.PayloadInfo[0]
		eq(t, "href", p.Href, "cid:phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid")
		cid, ok := p.ContentID()
		eq(t, "ContentID", cid, "phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid")
		eq(t, "ContentID ok", ok, true)
		eq(t, "MimeType", p.MimeType(), "application/xml")
		eq(t, "CompressionType", p.CompressionType(), "application/gzip")
	},
	"phase4/test-2023-03-15.xml": func(t *testing.T, m *Messaging) {
		u := mustUser(t, m)
		eq(t, "ID", m.ID, "mid_b2ee9d4b-13b1-43c2-9e39-7aa28c3397c8")
		eq(t, "MessageId (no '@')", u.MessageInfo.MessageID, "49267c79-d822-45d9-aa91-c57b3ca508db")
		eqTime(t, u.MessageInfo.Timestamp, "2023-03-09T09:23:26.8542515Z") // sent as +01:00
		eq(t, "Action (trailing newline trimmed)", u.CollaborationInfo.Action, "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1")
		eq(t, "ConversationId", u.CollaborationInfo.ConversationID, "testid")
		eq(t, "MessageProperties", u.MessageProperties, []Property{
			{Name: "originalSender", Type: "iso6523-actorid-upis", Value: "9930:de322532962"},
			{Name: "finalRecipient", Type: "iso6523-actorid-upis", Value: "9930:de322532962"},
		})
		eq(t, "PartInfo", u.PayloadInfo, []PartInfo{{Href: "cid:sbdhID", PartProperties: []Property{
			{Name: "MimeType", Value: "application/xml"}, {Name: "CompressionType", Value: "application/gzip"},
		}}})
	},
	"phase4/ErrorMessage.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "MustUnderstand (absent)", m.MustUnderstand, false)
		eq(t, "MessageId", s.MessageInfo.MessageID, "ph-as4@e348b6f9-bea5-422b-972a-90")
		eqTime(t, s.MessageInfo.Timestamp, "2017-06-13T11:39:52.967Z") // sent without zone
		eq(t, "errors", len(s.Errors), 1)
		e := s.Errors[0]
		eq(t, "ErrorCode", e.ErrorCode, CodeValueNotRecognized)
		eq(t, "Severity", e.Severity, SeverityFailure)
		eq(t, "Category", e.Category, CategoryContent)
		eq(t, "ShortDescription", e.ShortDescription, "ValueNotRecognized")
		eq(t, "RefToMessageInError", e.RefToMessageInError, "ph-as4@42ec020f-9553-4b6d-ba8e-265cf1f6fd34")
		eq(t, "ErrorDetail prefix", strings.HasPrefix(e.ErrorDetail, "Although the message document is well formed"), true)
	},
	"phase4/ErrorMessageWithFault.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "MessageId", s.MessageInfo.MessageID, "28a699c5-c7ae-4731-b0b8-ebf3b4bc8477")
		eq(t, "RefToMessageId", s.MessageInfo.RefToMessageID, "1234")
		eqTime(t, s.MessageInfo.Timestamp, "2025-09-25T07:54:32.971659362Z") // sent as +02:00
		eq(t, "errors", len(s.Errors), 1)
		eq(t, "Error", s.Errors[0], Error{
			ErrorCode: CodePolicyNoncompliance, Severity: SeverityFailure, Category: CategoryProcessing,
			Origin: "ebMS", ShortDescription: "PolicyNoncompliance",
			Description: &Description{Text: "Certificate revoked CN=POP000000,OU=PEPPOL TEST AP,O=OpenPEPPOL AISBL,C=BE"},
			ErrorDetail: "java.lang.RuntimeException",
		})
	},
	"as4net/signed_holodeck_message.as4": func(t *testing.T, m *Messaging) {
		u := mustUser(t, m)
		eq(t, "MessageId", u.MessageInfo.MessageID, "cdcc838c-96ed-414a-b127-0937f5cd6549@CLT-FGHEYSELS.ad.codit.eu")
		eqTime(t, u.MessageInfo.Timestamp, "2018-01-24T16:12:22.344Z")
		eq(t, "From", u.PartyInfo.From, Party{PartyIDs: []PartyID{{Value: "org:holodeckb2b:example:company:A"}}, Role: "Sender"})
		eq(t, "To", u.PartyInfo.To, Party{PartyIDs: []PartyID{{Value: "org:eu:europa:as4:example"}}, Role: "Receiver"})
		eq(t, "Service", u.CollaborationInfo.Service, Service{"Test", "org:holodeckb2b:services"})
		eq(t, "Action", u.CollaborationInfo.Action, "StoreMessage")
		eq(t, "AgreementRef", *u.CollaborationInfo.AgreementRef, AgreementRef{Value: "http://agreements.holodeckb2b.org/examples/agreement0", PMode: "8.3.4-pmode"})
		eq(t, "ConversationId", u.CollaborationInfo.ConversationID, "org:holodeckb2b:test:conversation")
		eq(t, "parts", len(u.PayloadInfo), 2)
		eq(t, "href 1", u.PayloadInfo[0].Href, "cid:cdcc838c-96ed-414a-b127-0937f5cd654-341439240@CLT-FGHEYSELS.ad.codit.eu")
		eq(t, "mime 1", u.PayloadInfo[0].MimeType(), "image/jpeg")
		eq(t, "compression 1", u.PayloadInfo[0].CompressionType(), "application/gzip")
		eq(t, "href 2", u.PayloadInfo[1].Href, "cid:cdcc838c-96ed-414a-b127-0937f5cd654-445037483@CLT-FGHEYSELS.ad.codit.eu")
		eq(t, "mime 2", u.PayloadInfo[1].MimeType(), "application/xml")
	},
	"phase4/helger.as4in": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "MessageId", s.MessageInfo.MessageID, "1384cf77-2de9-4303-a4e7-ca935a20f4fd@phase4")
		eq(t, "RefToMessageId", s.MessageInfo.RefToMessageID, "3b3775c9-e88d-47f9-be5a-8e045ca2bc07@phase4")
		eqTime(t, s.MessageInfo.Timestamp, "2022-03-07T17:36:50.173Z")
		nri := mustNRI(t, s)
		eq(t, "NRI refs", len(nri.Parts), 3)
		uris := []string{"#phase4-msg-9cb62f4d-7132-4b52-93cf-79aa82d8c12f", "#id-0895ace8-af3b-410f-85ec-0227b4f97cd9", "cid:phase4-att-8f153eee-52ce-4a39-96a6-2a13296991bb@cid"}
		for i, p := range nri.Parts {
			eq(t, "NonDSReference", p.NonDSReference, false)
			eq(t, "URI", p.Reference.URI, uris[i])
			eq(t, "DigestAlgorithm", p.Reference.DigestAlgorithm, "http://www.w3.org/2001/04/xmlenc#sha256")
			eq(t, "digest length", len(p.Reference.DigestValue), 32)
		}
		eq(t, "attachment transform", nri.Parts[2].Reference.Transforms, []Transform{{Algorithm: "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Content-Signature-Transform"}})
	},
	"phase4/TestReceipt11.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "MustUnderstand (S11 \"1\")", m.MustUnderstand, true)
		eq(t, "MessageId", s.MessageInfo.MessageID, "ph-as4@8e086db6-b26e-4c15-95c5-973f3bedbd96")
		eq(t, "RefToMessageId", s.MessageInfo.RefToMessageID, "ph-as4@2babaddd-282e-461e-b645-730c5abebcce")
		r := s.Receipt
		if r == nil || r.UserMessage == nil {
			t.Fatal("want a receipt with a UserMessage copy")
		}
		eq(t, "in envelope", r.UserMessageInEnvelope, true)
		eq(t, "kept envelope", len(r.Other), 1)
		eq(t, "kept envelope tag", r.Other[0].Tag, "Envelope")
		u := r.UserMessage
		eq(t, "copy MessageId", u.MessageInfo.MessageID, "ph-as4@2babaddd-282e-461e-b645-730c5abebcce")
		eq(t, "copy From", u.PartyInfo.From, Party{PartyIDs: []PartyID{{Value: "APP_000000000011"}}, Role: NamespaceEbMS + "sender"})
		eq(t, "copy Service", u.CollaborationInfo.Service, Service{"soap11", "MyServiceTypes"})
		eq(t, "copy pmode", u.CollaborationInfo.AgreementRef.PMode, "APP_000000000011-APP_000000000011")
		eq(t, "copy parts", len(u.PayloadInfo), 1)
		eq(t, "body payload", u.PayloadInfo[0].IsBodyPayload(), true)
	},
	"harmony/soapEnvelope-PullRequest.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "ID", m.ID, "_3e01deaa-5960-43b9-bf6c-5ea1f705d7d7")
		eq(t, "MessageId", s.MessageInfo.MessageID, "2d63b956-6452-11ee-95d4-2cf05db4a367@domibus.eu")
		eqTime(t, s.MessageInfo.Timestamp, "2023-10-06T14:11:00.667Z")
		if s.PullRequest == nil {
			t.Fatal("want a PullRequest")
		}
		eq(t, "mpc", s.PullRequest.MPC, NamespaceEbMS+"mpcPullSignOnly")
	},
	"as4net/as4-multihop-message.as4": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "ID (p4:Id)", m.ID, "header-6c657a4b-5519-48b6-a3a1-153767e63f38")
		eq(t, "MustUnderstand (p3:)", m.MustUnderstand, true)
		eq(t, "MessageId", s.MessageInfo.MessageID, "1e022294-1809-4c9e-b98d-27ef93be5f13@TESTFX")
		eq(t, "RefToMessageId", s.MessageInfo.RefToMessageID, "5b09912c-22c5-4424-a21f-d3e9c0b5258a@TESTFX")
		eqTime(t, s.MessageInfo.Timestamp, "2016-11-18T09:56:27Z")
		eq(t, "Error", s.Errors, []Error{{
			ErrorCode: CodeOther, Severity: SeverityFailure, Category: CategoryContent, Origin: "ebMS",
			ShortDescription: "Other", Description: &Description{Text: "Unknown.", Lang: "en"}, ErrorDetail: "this is my other error",
		}})
	},
	"as4net/Receipt_InvalidNRI_Namespace.as4": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		nri := mustNRI(t, s)
		eq(t, "NRI parts", len(nri.Parts), 3)
		for _, p := range nri.Parts {
			eq(t, "NonDSReference", p.NonDSReference, true)
			eq(t, "ReferenceNamespace", p.ReferenceNamespace, "")
		}
		eq(t, "URI", nri.Parts[2].Reference.URI, "cid:earth")
	},
	"harmony/soapEnvelope-UserMessage-receipt-split-and-join.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		if s.Receipt == nil || s.Receipt.UserMessage == nil {
			t.Fatal("want a receipt with a UserMessage copy")
		}
		eq(t, "in envelope", s.Receipt.UserMessageInEnvelope, false)
		eq(t, "copy MessageId", s.Receipt.UserMessage.MessageInfo.MessageID, "712d4d3f-637d-11ee-aae4-c6a5e38f968a@domibus.eu")
		eq(t, "copy matches RefToMessageId", s.Receipt.UserMessage.MessageInfo.MessageID, s.MessageInfo.RefToMessageID)
	},
	"harmony/soapEnvelope-SignalMessage-error.xml": func(t *testing.T, m *Messaging) {
		s := mustSignal(t, m)
		eq(t, "Category (sent as CONTENT)", s.Errors[0].Category, CategoryContent)
		eq(t, "ErrorDetail (trimmed)", s.Errors[0].ErrorDetail, "some details of the error")
	},
}

func TestVectorsHeaders(t *testing.T) {
	dir := vectorsDir(t)
	decoded := 0
	checked := map[string]bool{}
	for _, name := range vectorFiles(t, dir) {
		t.Run(name, func(t *testing.T) {
			m, found := decodeVector(t, dir, name)
			if !found {
				t.Skip("no eb:Messaging (not a message)")
			}
			decoded++
			t.Logf("%s: %s", name, summary(m))
			if check, ok := vectorChecks[name]; ok {
				checked[name] = true
				check(t, m)
			}
			// What we decode from real peers must survive our own encoder unchanged, and the
			// encoder must not scatter namespace declarations.
			assertRoundTrip(t, m, false)
			_, text := encodeInEnvelope(t, m, false)
			checkNamespaceDeclarations(t, text)
		})
	}
	for name := range vectorChecks {
		if !checked[name] {
			t.Errorf("vector %s with expected values was not found or not decoded", name)
		}
	}
	if decoded == 0 {
		t.Error("no vector decoded")
	}
}

func mustUser(t *testing.T, m *Messaging) *UserMessage {
	t.Helper()
	if m.UserMessage == nil {
		t.Fatal("want a UserMessage")
	}
	return m.UserMessage
}

func mustSignal(t *testing.T, m *Messaging) *SignalMessage {
	t.Helper()
	if len(m.SignalMessages) != 1 {
		t.Fatalf("want one SignalMessage, got %d", len(m.SignalMessages))
	}
	return m.SignalMessages[0]
}

func mustNRI(t *testing.T, s *SignalMessage) *NonRepudiationInformation {
	t.Helper()
	if s.Receipt == nil || s.Receipt.NonRepudiationInformation == nil {
		t.Fatal("want a receipt with NonRepudiationInformation")
	}
	return s.Receipt.NonRepudiationInformation
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflectDeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func eqTime(t *testing.T, got time.Time, want string) {
	t.Helper()
	w, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(w) || got.Location() != time.UTC {
		t.Errorf("Timestamp = %s, want %s in UTC", got.Format(time.RFC3339Nano), want)
	}
}

func eqProp(t *testing.T, u *UserMessage, name, want string) {
	t.Helper()
	got, ok := u.MessageProperty(name)
	if !ok || got != want {
		t.Errorf("MessageProperty(%q) = %q, %v; want %q", name, got, ok, want)
	}
}
