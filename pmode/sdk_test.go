package pmode

import (
	"strings"
	"testing"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

func TestSDKPreset(t *testing.T) {
	s := mustSDK(t)
	if s.Name != "sdk-prod" || s.Self != ourAP {
		t.Errorf("set %q self %q", s.Name, s.Self)
	}
	self := s.SelfParty()
	if self == nil || len(self.PartyIDs) != 1 || self.PartyIDs[0] != (PartyID{Value: ourAP, Type: SDKPartyTypeAP}) {
		t.Fatalf("own party: %+v", self)
	}
	if len(s.Legs) != 2 || s.Legs[0].Action != SDKActionMessage || s.Legs[1].Action != SDKActionBusinessReceipt {
		t.Fatalf("legs: %+v", s.Legs)
	}
	for _, l := range s.Legs {
		checks := []struct {
			what string
			ok   bool
		}{
			{"one-way push", l.MEP == MEPOneWay && l.Binding == BindingPush},
			{"any access point", len(l.Initiators) == 1 && l.Initiators[0] == AnyParty && len(l.Responders) == 1 && l.Responders[0] == AnyParty && l.AnyPartyIDType == SDKPartyTypeAP},
			{"roles", l.InitiatorRole == ebms.RoleInitiator && l.ResponderRole == ebms.RoleResponder},
			{"service", l.Service == Service{Value: "bdx:noprocess", Type: "urn:fdc:digg.se:edelivery:process"}},
			{"tm-base-ext-sigenc", strings.HasPrefix(l.Action, "busdox-docid-qns::") && strings.HasSuffix(l.Action, "::tm-base-ext-sigenc")},
			{"no AgreementRef", l.AgreementRef == AgreementRef{}},
			{"default MPC", l.MPC == ebms.DefaultMPC},
			{"transport profile", l.TransportProfile == "digg-transport-as4-v1_0"},
			{"sign and encrypt", l.Security == Security{Sign: true, Encrypt: true,
				SignatureAlgorithm: wssec.AlgRSASHA256, DigestAlgorithm: wssec.AlgSHA256,
				DataEncryption: aesgcm.AES128GCM, KeyTransport: aesgcm.RSAOAEP,
				KeyTransportDigest: aesgcm.DigestSHA256, KeyTransportMGF: aesgcm.MGF1SHA256, RequireSignedReceipt: true}},
			{"reliability", l.Reliability.Receipts && l.Reliability.NonRepudiation && l.Reliability.ReplyPattern == "response" &&
				l.Reliability.DuplicateDetection && l.Reliability.Retry.String() == "12;4;CONSTANT"},
			{"compression", l.Compression},
			{"payload profile", len(l.PayloadProfile.Parts) == 2 &&
				l.PayloadProfile.Parts[0] == PayloadPart{Name: "businessContentPayload", ContentID: "cid:message", MimeType: "text/xml", Required: true} &&
				l.PayloadProfile.Parts[1] == PayloadPart{Name: "businessContentAttachment", ContentID: "cid:attachment", MimeType: "application/octet-stream"} &&
				l.PayloadProfile.MaxSize >= 100_000_000},
			{"properties", len(l.Properties) == 2 &&
				l.Properties[0] == PropertyRule{Name: "originalSender", Type: "iso6523-actorid-upis", Required: true} &&
				l.Properties[1] == PropertyRule{Name: "finalRecipient", Type: "iso6523-actorid-upis", Required: true}},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("leg %s: %s: %+v", l.Name, c.what, l)
			}
		}
	}
}

func TestSDKEnvironments(t *testing.T) {
	for _, tc := range []struct{ env, name, err string }{
		{"qa", "AP0040-SDK-QA", ""},
		{"OPEN-TEST", "AP0040-SDK-OPEN-TEST", ""},
		{"PROD", "my-test-ap", ""},
		{"QA", "AP0040-SDK-PROD", `pmode: SDK access point "AP0040-SDK-PROD" looks like a PROD name, not QA`},
		{"DEV", "AP0040-SDK-DEV", `pmode: SDK environment "DEV" is not one of PROD, QA, OPEN-TEST`},
		{"PROD", "", "pmode: SDK access point name is required (the CN of the DIGG certificate, e.g. AP0040-SDK-PROD)"},
		{"PROD", "*", `pmode: SDK preset for "*": pmodes.parties[0].name: "*" is reserved`},
	} {
		s, err := SDK(tc.env, tc.name)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("SDK(%q, %q): %v", tc.env, tc.name, err)
		case tc.err == "" && s.Name != "sdk-"+strings.ToLower(tc.env):
			t.Errorf("SDK(%q, %q) name %q", tc.env, tc.name, s.Name)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("SDK(%q, %q) = %v, want %q", tc.env, tc.name, err, tc.err)
		}
	}
}

func TestSDKLegsAreCopies(t *testing.T) {
	a := SDKLegs()
	a[0].PayloadProfile.Parts[0].MimeType = "application/pdf"
	a[0].Properties[0].Required = false
	b := SDKLegs()
	if b[0].PayloadProfile.Parts[0].MimeType != "text/xml" || !b[0].Properties[0].Required {
		t.Error("SDKLegs shares slices between calls")
	}
}
