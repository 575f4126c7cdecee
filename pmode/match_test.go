package pmode

import (
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

const (
	apType  = `(type "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap")`
	sdkHead = `no P-Mode leg matches inbound message (from "AP0099-SDK-PROD" ` + apType + ` to "AP0040-SDK-PROD" ` + apType +
		`, service "bdx:noprocess" type "urn:fdc:digg.se:edelivery:process", action `
)

func TestMatchInboundSDK(t *testing.T) {
	s := mustSDK(t)
	for _, tc := range []struct{ action, leg string }{
		{SDKActionMessage, "sdk-message"},
		{SDKActionBusinessReceipt, "sdk-business-receipt"},
	} {
		l, err := s.MatchInbound(sdkMessage(tc.action))
		if err != nil {
			t.Fatalf("%s: %v", tc.leg, err)
		}
		if l.Name != tc.leg {
			t.Errorf("matched %q, want %q", l.Name, tc.leg)
		}
	}
}

// TestMatchInboundExactMessage pins the whole text of the most common failure:
// a wrong action, with both legs' expectations and where the strings diverge.
func TestMatchInboundExactMessage(t *testing.T) {
	_, err := mustSDK(t).MatchInbound(sdkMessage("busdox-docid-qns::X"))
	want := `pmode: EBMS:0001 ValueNotRecognized: ` + sdkHead + `"busdox-docid-qns::X"): ` +
		`leg "sdk-message": action is "busdox-docid-qns::X", expects "` + SDKActionMessage + `" (first difference at character 19, after "busdox-docid-qns::"); ` +
		`leg "sdk-business-receipt": action is "busdox-docid-qns::X", expects "` + SDKActionBusinessReceipt + `" (first difference at character 19, after "busdox-docid-qns::")`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	me := asMatchError(t, err)
	if len(me.Closest) != 2 || me.Closest[0].Mismatches[0].Field != "action" {
		t.Errorf("closest: %+v", me.Closest)
	}
	sig := me.SignalError("msg-1")
	if sig.ErrorCode != ebms.CodeValueNotRecognized || sig.RefToMessageInError != "msg-1" || sig.ErrorDetail != err.Error() {
		t.Errorf("signal: %+v", sig)
	}
}

func TestMatchInboundMismatches(t *testing.T) {
	unreg := "urn:oasis:names:tc:ebcore:partyid-type:unregistered"
	tests := []struct {
		name   string
		mutate func(u *ebms.UserMessage)
		code   ebms.Code
		want   []string // substrings, in order
	}{
		{"service type", func(u *ebms.UserMessage) { u.CollaborationInfo.Service.Type = "urn:other" },
			ebms.CodeValueNotRecognized,
			[]string{`: leg "sdk-message": service type is "urn:other", expects "urn:fdc:digg.se:edelivery:process"`}},
		{"service", func(u *ebms.UserMessage) { u.CollaborationInfo.Service.Value = "BDX:noprocess" },
			ebms.CodeValueNotRecognized,
			[]string{`leg "sdk-message": service is "BDX:noprocess", expects "bdx:noprocess" (differs only in case)`}},
		{"from party type", func(u *ebms.UserMessage) { u.PartyInfo.From.PartyIDs[0].Type = unreg },
			ebms.CodeValueInconsistent,
			[]string{`leg "sdk-message": from party is "AP0099-SDK-PROD" (type "` + unreg + `"), expects any party with a PartyId of type "` + SDKPartyTypeAP + `"`}},
		{"to another AP", func(u *ebms.UserMessage) { u.PartyInfo.To.PartyIDs[0].Value = "AP0001-SDK-PROD" },
			ebms.CodeValueInconsistent,
			[]string{`: to party is "AP0001-SDK-PROD" ` + apType + `, but this access point is party "AP0040-SDK-PROD" ["AP0040-SDK-PROD" ` + apType + `]`}},
		{"roles and mpc", func(u *ebms.UserMessage) {
			u.PartyInfo.From.Role, u.PartyInfo.To.Role = ebms.RoleResponder, ebms.RoleInitiator
			u.MPC = "urn:example:mpc"
		}, ebms.CodeProcessingModeMismatch, []string{
			`leg "sdk-message": from role is "` + ebms.RoleResponder + `", expects "` + ebms.RoleInitiator + `"`,
			`, to role is "` + ebms.RoleInitiator + `", expects "` + ebms.RoleResponder + `"`,
			`, mpc is "urn:example:mpc", expects "` + ebms.DefaultMPC + `"`,
		}},
		{"action of the other leg's case", func(u *ebms.UserMessage) {
			u.CollaborationInfo.Action = strings.ToUpper(SDKActionMessage)
		}, ebms.CodeValueNotRecognized, []string{`(differs only in case)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := sdkMessage(SDKActionMessage)
			tc.mutate(u)
			_, err := mustSDK(t).MatchInbound(u)
			if err == nil {
				t.Fatal("matched")
			}
			me := asMatchError(t, err)
			if me.Code != tc.code || me.EBMSCode() != tc.code {
				t.Errorf("code %s, want %s", me.Code, tc.code)
			}
			msg, at := err.Error(), 0
			if !strings.HasPrefix(msg, "pmode: "+string(tc.code)+" ") {
				t.Errorf("message does not start with the code: %s", msg)
			}
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("message lacks %q (after position %d):\n%s", w, at, msg)
				}
				at += i + len(w)
			}
		})
	}
}

func TestMatchInboundProfile(t *testing.T) {
	attachment := ebms.PartInfo{Href: "cid:attachment", PartProperties: []ebms.Property{{Name: ebms.PartPropertyMimeType, Value: "application/octet-stream"}}}
	tests := []struct {
		name   string
		mutate func(u *ebms.UserMessage)
		code   ebms.Code
		want   string // "" means the message matches
	}{
		{"AgreementRef accepted though none is configured", func(u *ebms.UserMessage) {
			u.CollaborationInfo.AgreementRef = &ebms.AgreementRef{Value: "urn:example:agreement"}
		}, "", ""},
		{"property without type accepted", func(u *ebms.UserMessage) { u.MessageProperties[0].Type = "" }, "", ""},
		{"extra property accepted", func(u *ebms.UserMessage) {
			u.MessageProperties = append(u.MessageProperties, ebms.Property{Name: "trackingId", Value: "42"})
		}, "", ""},
		{"optional attachment", func(u *ebms.UserMessage) { u.PayloadInfo = append(u.PayloadInfo, attachment) }, "", ""},
		{"MimeType with parameters", func(u *ebms.UserMessage) { u.PayloadInfo[0].PartProperties[0].Value = "Text/XML; charset=UTF-8" }, "", ""},
		{"missing finalRecipient", func(u *ebms.UserMessage) { u.MessageProperties = u.MessageProperties[:1] },
			ebms.CodeProcessingModeMismatch, `pmode: EBMS:0010 ProcessingModeMismatch: leg "sdk-message": message property "finalRecipient" is required but missing`},
		{"empty originalSender", func(u *ebms.UserMessage) { u.MessageProperties[0].Value = "" },
			ebms.CodeProcessingModeMismatch, `leg "sdk-message": message property "originalSender" is required but missing`},
		{"property type", func(u *ebms.UserMessage) { u.MessageProperties[1].Type = "ISO6523-ACTORID-UPIS" },
			ebms.CodeValueInconsistent, `pmode: EBMS:0003 ValueInconsistent: leg "sdk-message": message property "finalRecipient" has type "ISO6523-ACTORID-UPIS", expects "iso6523-actorid-upis" (differs only in case)`},
		{"wrong MimeType", func(u *ebms.UserMessage) { u.PayloadInfo[0].PartProperties[0].Value = "application/pdf" },
			ebms.CodeProcessingModeMismatch, `leg "sdk-message": payload "cid:message" has MimeType "application/pdf", expects "text/xml"`},
		{"no MimeType", func(u *ebms.UserMessage) { u.PayloadInfo[0].PartProperties = nil },
			ebms.CodeProcessingModeMismatch, `payload "cid:message" has MimeType none, expects "text/xml"`},
		{"no payload", func(u *ebms.UserMessage) { u.PayloadInfo = nil },
			ebms.CodeProcessingModeMismatch, `leg "sdk-message": payload "cid:message" is required but missing (PartInfo list: empty)`},
		{"unknown part", func(u *ebms.UserMessage) { u.PayloadInfo[0].Href = "cid:payload-1@example" },
			ebms.CodeProcessingModeMismatch, `leg "sdk-message": payload "cid:payload-1@example" is not in the payload profile (expects cid:message text/xml required, cid:attachment application/octet-stream optional)`},
		{"too many attachments", func(u *ebms.UserMessage) { u.PayloadInfo = append(u.PayloadInfo, attachment, attachment) },
			ebms.CodeProcessingModeMismatch, `payload "cid:attachment" is one more part of a kind the payload profile allows once`},
		{"body payload", func(u *ebms.UserMessage) { u.PayloadInfo = append(u.PayloadInfo, ebms.PartInfo{}) },
			ebms.CodeProcessingModeMismatch, `payload PartInfo[2] (SOAP Body) is not in the payload profile`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := sdkMessage(SDKActionMessage)
			tc.mutate(u)
			l, err := mustSDK(t).MatchInbound(u)
			if tc.want == "" {
				if err != nil || l.Name != "sdk-message" {
					t.Fatalf("got %v, %v", l, err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			pe := asProfileError(t, err)
			if pe.Code != tc.code || pe.Leg != "sdk-message" {
				t.Errorf("code %s leg %q", pe.Code, pe.Leg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%s\nwant it to contain:\n%s", err, tc.want)
			}
			if sig := pe.SignalError("m"); sig.ErrorCode != tc.code {
				t.Errorf("signal code %s", sig.ErrorCode)
			}
		})
	}
}

func TestCheckPayloadsSizeAndPatterns(t *testing.T) {
	l := SDKLegs()[0]
	parts := sdkMessage(SDKActionMessage).PayloadInfo
	if err := l.CheckPayloads(parts, map[string]int64{"cid:message": 100 << 20}); err != nil {
		t.Errorf("100 MB refused: %v", err)
	}
	err := l.CheckPayloads(parts, map[string]int64{"cid:message": 600 << 20})
	if err == nil || !strings.Contains(err.Error(), `payloads total 629145600 bytes, more than the limit of 536870912 bytes`) {
		t.Errorf("600 MiB: %v", err)
	}
	// Content-ID patterns, case-insensitive, with and without "cid:".
	l.PayloadProfile = PayloadProfile{Parts: []PayloadPart{
		{ContentID: "message", Required: true},
		{ContentID: "cid:att-*@example.org"},
		{ContentID: "att-*@example.org"},
		{InBody: true},
	}}
	ok := []ebms.PartInfo{{Href: "cid:MESSAGE"}, {Href: "cid:att-1@example.org"}, {Href: "cid:att-2@Example.org"}, {}}
	if err := l.CheckPayloads(ok, nil); err != nil {
		t.Errorf("patterns: %v", err)
	}
	if err := l.CheckPayloads([]ebms.PartInfo{{Href: "cid:message"}, {Href: "cid:att-1@example.org.evil"}}, nil); err == nil {
		t.Error("pattern matched a longer Content-ID")
	}
	// No profile: anything goes.
	l.PayloadProfile = PayloadProfile{}
	if err := l.CheckPayloads(ok, map[string]int64{"cid:MESSAGE": 1 << 40}); err != nil {
		t.Errorf("no profile: %v", err)
	}
}

func TestGlobFold(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"message", "MESSAGE", true}, {"message", "message2", false}, {"*", "", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"*@x", "a@b@x", true},
		{"a**", "a", true}, {"", "a", false},
	}
	for _, tc := range tests {
		if got := globFold(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globFold(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestMatchAmbiguityAndSpecificity(t *testing.T) {
	s := mustSDK(t)
	twin := SDKLegs()[0]
	twin.Name = "sdk-message-twin"
	s.Legs = append(s.Legs, twin)
	_, err := s.MatchInbound(sdkMessage(SDKActionMessage))
	me := asMatchError(t, err)
	want := `matches legs "sdk-message" and "sdk-message-twin" equally well; make the legs differ`
	if me.Code != ebms.CodeProcessingModeMismatch || len(me.Ambiguous) != 2 || !strings.Contains(err.Error(), want) {
		t.Errorf("ambiguity: %v", err)
	}
	if _, err := s.MatchOutbound(sdkSubmission()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("outbound ambiguity: %v", err)
	}

	// A leg naming the partner beats the leg for any party; others still take the general leg.
	s = mustSDK(t)
	s.Parties = append(s.Parties, Party{Name: "partner", PartyIDs: []PartyID{{Value: peerAP, Type: SDKPartyTypeAP}}})
	special := SDKLegs()[0]
	special.Name, special.Initiators = "partner-message", []string{"partner"}
	s.Legs = append(s.Legs, special)
	if l, err := s.MatchInbound(sdkMessage(SDKActionMessage)); err != nil || l.Name != "partner-message" {
		t.Errorf("partner: %v, %v", l, err)
	}
	other := sdkMessage(SDKActionMessage)
	other.PartyInfo.From.PartyIDs[0].Value = "AP0123-SDK-PROD"
	if l, err := s.MatchInbound(other); err != nil || l.Name != "sdk-message" {
		t.Errorf("other peer: %v, %v", l, err)
	}
	// A leg with the message's AgreementRef beats one without.
	s = mustSDK(t)
	agreed := SDKLegs()[0]
	agreed.Name, agreed.AgreementRef = "agreed", AgreementRef{Value: "urn:example:agreement"}
	s.Legs = append(s.Legs, agreed)
	u := sdkMessage(SDKActionMessage)
	u.CollaborationInfo.AgreementRef = &ebms.AgreementRef{Value: "urn:example:agreement"}
	if l, err := s.MatchInbound(u); err != nil || l.Name != "agreed" {
		t.Errorf("agreement: %v, %v", l, err)
	}
	if l, err := s.MatchInbound(sdkMessage(SDKActionMessage)); err != nil || l.Name != "sdk-message" {
		t.Errorf("no agreement: %v, %v", l, err)
	}
}

func TestMatchOutbound(t *testing.T) {
	s := mustSDK(t)
	l, err := s.MatchOutbound(sdkSubmission())
	if err != nil || l.Name != "sdk-message" {
		t.Fatalf("SDK submission: %v, %v", l, err)
	}
	p, id, err := s.Responder(l, sdkSubmission())
	if p != nil || id != (PartyID{}) || err != nil {
		t.Errorf("SDK responder without To: %v %v %v (want discovery from finalRecipient)", p, id, err)
	}
	sub := sdkSubmission()
	sub.ToPartyID = peerAP
	if _, id, _ := s.Responder(l, sub); id != (PartyID{Value: peerAP, Type: SDKPartyTypeAP}) {
		t.Errorf("SDK responder with To: %+v", id)
	}

	sub = sdkSubmission()
	sub.Action = "X"
	_, err = s.MatchOutbound(sub)
	if err == nil || !strings.HasPrefix(err.Error(), `pmode: no P-Mode leg matches submission (service "bdx:noprocess" type "urn:fdc:digg.se:edelivery:process", action "X"): leg "sdk-message": action is "X", expects "`) {
		t.Errorf("outbound action: %v", err)
	}
	sub = sdkSubmission()
	sub.FinalRecipient = ""
	_, err = s.MatchOutbound(sub)
	if pe := asProfileError(t, err); pe.Field != `message property "finalRecipient"` {
		t.Errorf("missing finalRecipient: %v", err)
	}

	b := blueRed()
	bsub := Submission{Service: "bdx:noprocess", ServiceType: "tc1", Action: "TC1Leg1",
		OriginalSender: "urn:oasis:names:tc:ebcore:partyid-type:unregistered:C1", FinalRecipient: "urn:oasis:names:tc:ebcore:partyid-type:unregistered:C4",
		ToPartyID: "domibus-red"}
	l, err = b.MatchOutbound(bsub)
	if err != nil || l.Name != "tc1" {
		t.Fatalf("blue to red: %v, %v", l, err)
	}
	if p, _, err := b.Responder(l, bsub); err != nil || p == nil || p.Name != "red_gw" {
		t.Errorf("responder: %v, %v", p, err)
	}
	bsub.ToPartyID = "domibus-green"
	_, err = b.MatchOutbound(bsub)
	want := `leg "tc1": to party is "domibus-green" (no type), expects party "blue_gw" ["domibus-blue" (type "urn:oasis:names:tc:ebcore:partyid-type:unregistered")] or party "red_gw" ["domibus-red" (type "urn:oasis:names:tc:ebcore:partyid-type:unregistered")]`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("unknown To:\n%v\nwant:\n%s", err, want)
	}
	// Our party only responds on this leg: sending on it is a "direction" mismatch.
	b.Legs[0].Initiators = []string{"red_gw"}
	bsub.ToPartyID = ""
	_, err = b.MatchOutbound(bsub)
	if err == nil || !strings.Contains(err.Error(), `leg "tc1": direction is this access point "blue_gw" sending, expects an initiator among "red_gw"`) {
		t.Errorf("direction: %v", err)
	}
}

func TestMatchInboundDomibusStyle(t *testing.T) {
	b := blueRed()
	if l, err := b.MatchInbound(blueRedMessage("TC2Leg1")); err != nil || l.Name != "tc2" {
		t.Fatalf("red to blue: %v, %v", l, err)
	}
	u := blueRedMessage("TC1Leg1")
	u.PartyInfo.From.PartyIDs = []ebms.PartyID{{Value: "domibus-green", Type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}}
	_, err := b.MatchInbound(u)
	me := asMatchError(t, err)
	if me.Code != ebms.CodeValueInconsistent || !strings.Contains(err.Error(), `from party is "domibus-green"`) {
		t.Errorf("unknown sender: %v", err)
	}
	// Known values in a combination no leg takes: EBMS:0010.
	b.Legs[1].Service.Type = "tc2"
	u = blueRedMessage("TC2Leg1")
	_, err = b.MatchInbound(u)
	if me := asMatchError(t, err); me.Code != ebms.CodeProcessingModeMismatch {
		t.Errorf("known service and action on different legs: %v", err)
	}
}

func TestSecurityPolicy(t *testing.T) {
	l := SDKLegs()[0]
	p := l.SecurityPolicy()
	if !p.RequireSignature || !p.RequireMessaging || !p.RequireBody || !p.RequireAllAttachments ||
		len(p.SignatureMethods) != 1 || p.SignatureMethods[0] != l.Security.SignatureAlgorithm ||
		len(p.DigestMethods) != 1 || p.DigestMethods[0] != l.Security.DigestAlgorithm || p.MaxReferences == 0 {
		t.Errorf("SDK policy: %+v", p)
	}
	r := l.ReceiptPolicy()
	if !r.RequireSignature || r.RequireAllAttachments || len(r.SignatureMethods) < 2 {
		t.Errorf("SDK receipt policy: %+v", r)
	}
	l.Security = Security{}
	if p := l.SecurityPolicy(); p.RequireSignature || len(p.SignatureMethods) < 2 {
		t.Errorf("unsigned leg: %+v", p)
	}
}
