package pmode

import (
	"errors"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

const (
	ourAP   = "AP0040-SDK-PROD"
	peerAP  = "AP0099-SDK-PROD"
	typeUPI = SDKParticipantScheme
)

func mustSDK(t testing.TB) *Set {
	t.Helper()
	s, err := SDK("PROD", ourAP)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sdkMessage is an SDK-shaped UserMessage from peerAP to ourAP, built with the
// ebms types as the decoder would produce it.
func sdkMessage(action string) *ebms.UserMessage {
	return &ebms.UserMessage{
		MessageInfo: ebms.MessageInfo{MessageID: "5a4c7f4e-1e2b-4a11-9d4b-2b7f3f1f0c01@" + peerAP},
		PartyInfo: ebms.PartyInfo{
			From: ebms.Party{PartyIDs: []ebms.PartyID{{Value: peerAP, Type: SDKPartyTypeAP}}, Role: ebms.RoleInitiator},
			To:   ebms.Party{PartyIDs: []ebms.PartyID{{Value: ourAP, Type: SDKPartyTypeAP}}, Role: ebms.RoleResponder},
		},
		CollaborationInfo: ebms.CollaborationInfo{
			Service:        ebms.Service{Value: SDKService, Type: SDKServiceType},
			Action:         action,
			ConversationID: "0f0e2c57-6f0c-4a3b-9a57-8f2d2a4b1c11",
		},
		MessageProperties: []ebms.Property{
			{Name: ebms.PropertyOriginalSender, Type: typeUPI, Value: "0203:sundbyberg.se"},
			{Name: ebms.PropertyFinalRecipient, Type: typeUPI, Value: "0203:malmo.se"},
		},
		PayloadInfo: []ebms.PartInfo{{
			Href: "cid:message",
			PartProperties: []ebms.Property{
				{Name: ebms.PartPropertyMimeType, Value: "text/xml"},
				{Name: ebms.PartPropertyCompressionType, Value: "application/gzip"},
			},
		}},
	}
}

func sdkSubmission() Submission {
	return Submission{
		Service: SDKService, ServiceType: SDKServiceType, Action: SDKActionMessage,
		OriginalSender: "0203:malmo.se", OriginalSenderType: typeUPI,
		FinalRecipient: "0203:sundbyberg.se", FinalRecipientType: typeUPI,
	}
}

// blueRed is a hand-written two-party set like Domibus's samples, as blue.
func blueRed() *Set {
	unreg := "urn:oasis:names:tc:ebcore:partyid-type:unregistered"
	leg := func(name, action string) Leg {
		return Leg{
			Name:       name,
			Initiators: []string{"blue_gw", "red_gw"},
			Responders: []string{"blue_gw", "red_gw"},
			Service:    Service{Value: "bdx:noprocess", Type: "tc1"},
			Action:     action,
			Security:   Security{Sign: true, Encrypt: true, RequireSignedReceipt: true},
			Reliability: Reliability{Receipts: true, NonRepudiation: true, DuplicateDetection: true,
				Retry: RetryPolicy{Strategy: RetryConstant, Timeout: 12, Count: 4}},
			PayloadProfile: PayloadProfile{Parts: []PayloadPart{
				{ContentID: "cid:message", MimeType: "text/xml", Required: true},
			}},
			Properties:  []PropertyRule{{Name: "originalSender", Required: true}, {Name: "finalRecipient", Required: true}},
			Compression: true,
		}
	}
	s := &Set{
		Self: "blue_gw",
		Parties: []Party{
			{Name: "blue_gw", PartyIDs: []PartyID{{Value: "domibus-blue", Type: unreg}}, Endpoint: "https://blue.example/services/msh"},
			{Name: "red_gw", PartyIDs: []PartyID{{Value: "domibus-red", Type: unreg}}, Endpoint: "https://red.example/services/msh"},
		},
		Legs: []Leg{leg("tc1", "TC1Leg1"), leg("tc2", "TC2Leg1")},
	}
	s.ApplyDefaults()
	return s
}

func blueRedMessage(action string) *ebms.UserMessage {
	unreg := "urn:oasis:names:tc:ebcore:partyid-type:unregistered"
	u := sdkMessage(action)
	u.PartyInfo.From.PartyIDs = []ebms.PartyID{{Value: "domibus-red", Type: unreg}}
	u.PartyInfo.To.PartyIDs = []ebms.PartyID{{Value: "domibus-blue", Type: unreg}}
	u.CollaborationInfo.Service = ebms.Service{Value: "bdx:noprocess", Type: "tc1"}
	return u
}

func asMatchError(t *testing.T, err error) *MatchError {
	t.Helper()
	var me *MatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *MatchError", err, err)
	}
	return me
}

func asProfileError(t *testing.T, err error) *ProfileError {
	t.Helper()
	var pe *ProfileError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ProfileError", err, err)
	}
	return pe
}
