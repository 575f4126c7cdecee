package ebms

import (
	"errors"
	"testing"
)

func TestPartInfoHelpers(t *testing.T) {
	tests := []struct {
		href  string
		body  bool
		cid   string
		cidOK bool
	}{
		{"", true, "", false},
		{"#body-id", true, "", false},
		{"cid:phase4-att-1@cid", false, "phase4-att-1@cid", true},
		{"CID:Upper@x", false, "Upper@x", true},
		{"cid:a%40b%2Fc+d@x", false, "a@b/c+d@x", true}, // RFC 2392: percent-decoded, '+' literal
		{"cid:bad%zz", false, "", false},
		{"cid:", false, "", false},
		{"http://example.com/payload", false, "", false},
	}
	for _, tt := range tests {
		p := PartInfo{Href: tt.href}
		if p.IsBodyPayload() != tt.body {
			t.Errorf("%q: IsBodyPayload = %v", tt.href, !tt.body)
		}
		cid, ok := p.ContentID()
		if cid != tt.cid || ok != tt.cidOK {
			t.Errorf("%q: ContentID = %q, %v; want %q, %v", tt.href, cid, ok, tt.cid, tt.cidOK)
		}
	}
	p := PartInfo{PartProperties: []Property{
		{Name: PartPropertyMimeType, Value: "application/xml"},
		{Name: PartPropertyCompressionType, Value: "application/gzip"},
		{Name: PartPropertyCharacterSet, Value: "UTF-8"},
		{Name: PartPropertyMimeType, Value: "second is ignored"},
	}}
	eq(t, "MimeType", p.MimeType(), "application/xml")
	eq(t, "CompressionType", p.CompressionType(), "application/gzip")
	eq(t, "CharacterSet", p.CharacterSet(), "UTF-8")
	if _, ok := p.Property("mimetype"); ok {
		t.Error("property names are case-sensitive")
	}
	eq(t, "no compression", (&PartInfo{}).CompressionType(), "")
}

func TestUserMessageHelpers(t *testing.T) {
	u := &UserMessage{MessageProperties: []Property{{Name: PropertyFinalRecipient, Value: "0007:1"}}}
	if v, ok := u.MessageProperty("finalRecipient"); !ok || v != "0007:1" {
		t.Errorf("MessageProperty = %q, %v", v, ok)
	}
	if _, ok := u.MessageProperty("originalSender"); ok {
		t.Error("missing property found")
	}
	eq(t, "default MPC", u.EffectiveMPC(), DefaultMPC)
	u.MPC = "urn:mpc"
	eq(t, "MPC", u.EffectiveMPC(), "urn:mpc")
	eq(t, "pull default MPC", (&PullRequest{}).EffectiveMPC(), DefaultMPC)
}

func TestValidate(t *testing.T) {
	m := richUserMessage()
	if err := m.Validate(DecodeOptions{StrictMessageIDs: true}); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	m.UserMessage.CollaborationInfo.Action = ""
	var ve *ValidationError
	if err := m.Validate(DecodeOptions{}); !errors.As(err, &ve) || ve.Element != "eb:Messaging/eb:UserMessage/eb:CollaborationInfo/eb:Action" {
		t.Errorf("empty Action: got %v", err)
	}
	m = richUserMessage()
	m.UserMessage.MessageInfo.MessageID = "no-at-sign"
	if err := m.Validate(DecodeOptions{}); err != nil {
		t.Errorf("lenient: %v", err)
	}
	if err := m.Validate(DecodeOptions{StrictMessageIDs: true}); err == nil {
		t.Error("strict validation accepted a MessageId without '@'")
	}
	if err := (&Messaging{}).Validate(DecodeOptions{}); err == nil {
		t.Error("empty Messaging validated")
	}
}
