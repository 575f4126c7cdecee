package pmode

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

// SDK (Säker digital kommunikation) values. Every value the SDK federation
// prescribes lives here and in sdkProfile below, so a new DIGG transport
// profile is one edit. Source: shared/docs/sdk-profile.md (DIGG's Transportprofil
// AS4 v1.0, Accesspunkt komponentspecifikation 1.0 and example P-Mode).
const (
	// "Transport profile": From/To PartyId type; the value is the CN of the
	// access point's DIGG certificate (e.g. AP0040-SDK-PROD).
	SDKPartyTypeAP = "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap"
	// "Transport profile": Service and its type.
	SDKService     = "bdx:noprocess"
	SDKServiceType = "urn:fdc:digg.se:edelivery:process"
	// "Transport profile": the two actions of the tm-base-ext-sigenc transport model.
	SDKActionMessage         = "busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"
	SDKActionBusinessReceipt = "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"
	// "Transport profile": transport profile id of SDK endpoints in SMP.
	SDKTransportProfile = "digg-transport-as4-v1_0"
	// "Transport profile": type of the originalSender/finalRecipient properties (example value).
	SDKParticipantScheme = "iso6523-actorid-upis"
)

// SDKEnvironments are the federation environments, each with its own AS4 CA
// ("PKI and TLS": Accesspunkt CA-SDK-PROD / -SDK-QA / -OPEN-TEST).
var SDKEnvironments = []string{"PROD", "QA", "OPEN-TEST"}

// sdkProfile is the data the SDK legs are built from.
var sdkProfile = struct {
	legs           []struct{ name, action string }
	security       Security
	reliability    Reliability
	payloadProfile PayloadProfile
	properties     []PropertyRule
	compression    bool
}{
	// "Transport profile": the two actions; one leg each so each can be told apart in logs.
	legs: []struct{ name, action string }{
		{"sdk-message", SDKActionMessage},
		{"sdk-business-receipt", SDKActionBusinessReceipt},
	},
	// "Message security": every message signed AND encrypted; RSA-SHA256 with
	// SHA-256 digests; attachments encrypted with AES-128-GCM, key transport
	// RSA-OAEP with MGF1-SHA256 and SHA-256; signed receipts.
	security: Security{
		Sign:                 true,
		Encrypt:              true,
		SignatureAlgorithm:   wssec.AlgRSASHA256,
		DigestAlgorithm:      wssec.AlgSHA256,
		DataEncryption:       aesgcm.AES128GCM,
		KeyTransport:         aesgcm.RSAOAEP,
		KeyTransportDigest:   aesgcm.DigestSHA256,
		KeyTransportMGF:      aesgcm.MGF1SHA256,
		RequireSignedReceipt: true,
	},
	// "Transport profile", reliability (example P-Mode): reply pattern response
	// (synchronous receipt), non-repudiation, duplicate detection, retry
	// 12;4;CONSTANT; "Errors": duplicates are eliminated.
	reliability: Reliability{
		Receipts:           true,
		NonRepudiation:     true,
		ReplyPattern:       ReplyPatternResponse,
		DuplicateDetection: true,
		Retry:              RetryPolicy{Strategy: RetryConstant, Timeout: 12, Count: 4},
	},
	// "Transport profile", payload profile (example): cid:message text/xml
	// required, cid:attachment application/octet-stream optional. "Size": at
	// least 100 MB per message must pass; 512 MiB is our guard above that.
	payloadProfile: PayloadProfile{
		Parts: []PayloadPart{
			{Name: "businessContentPayload", ContentID: "cid:message", MimeType: "text/xml", Required: true},
			{Name: "businessContentAttachment", ContentID: "cid:attachment", MimeType: "application/octet-stream"},
		},
		MaxSize: 512 << 20,
	},
	// "Transport profile": originalSender and finalRecipient are mandatory;
	// their type iso6523-actorid-upis is an example, so a missing type is accepted.
	properties: []PropertyRule{
		{Name: ebms.PropertyOriginalSender, Type: SDKParticipantScheme, Required: true},
		{Name: ebms.PropertyFinalRecipient, Type: SDKParticipantScheme, Required: true},
	},
	// "Transport profile": compressPayloads on.
	compression: true,
}

// SDKLegs returns the SDK legs: one-way push on the default MPC, service
// bdx:noprocess, between any two access points (AnyParty, PartyId type
// SDKPartyTypeAP, found through SML/SMP), without AgreementRef ("No
// AgreementRef is sent; accept one if present").
func SDKLegs() []Leg {
	p := &sdkProfile
	legs := make([]Leg, 0, len(p.legs))
	for _, l := range p.legs {
		legs = append(legs, Leg{
			Name:             l.name,
			MEP:              MEPOneWay,
			Binding:          BindingPush,
			Initiators:       []string{AnyParty},
			Responders:       []string{AnyParty},
			AnyPartyIDType:   SDKPartyTypeAP,
			InitiatorRole:    ebms.RoleInitiator,
			ResponderRole:    ebms.RoleResponder,
			Service:          Service{Value: SDKService, Type: SDKServiceType},
			Action:           l.action,
			MPC:              ebms.DefaultMPC,
			TransportProfile: SDKTransportProfile,
			Security:         p.security,
			Reliability:      p.reliability,
			PayloadProfile: PayloadProfile{
				Parts:   append([]PayloadPart(nil), p.payloadProfile.Parts...),
				MaxSize: p.payloadProfile.MaxSize,
			},
			Properties:  append([]PropertyRule(nil), p.properties...),
			Compression: p.compression,
			Envelope:    EnvelopeXHE, // sdk-profile.md, "Business envelope: XHE, not SBDH"
		})
	}
	return legs
}

// SDK returns the P-Mode set of an access point in one SDK environment
// (PROD, QA or OPEN-TEST): our party apName (the CN of our DIGG certificate,
// e.g. "AP0040-SDK-PROD") and the SDK legs. An apName ending in another
// environment's suffix ("-SDK-PROD" for env QA) is refused: federations must
// stay apart (DIGG test TF-03).
func SDK(env, apName string) (*Set, error) {
	env = strings.ToUpper(strings.TrimSpace(env))
	if !contains(SDKEnvironments, env) {
		return nil, fmt.Errorf("pmode: SDK environment %q is not one of %s", env, strings.Join(SDKEnvironments, ", "))
	}
	if apName == "" {
		return nil, fmt.Errorf("pmode: SDK access point name is required (the CN of the DIGG certificate, e.g. AP0040-SDK-%s)", env)
	}
	upper := strings.ToUpper(apName)
	for _, other := range SDKEnvironments {
		if other != env && strings.HasSuffix(upper, "-SDK-"+other) {
			return nil, fmt.Errorf("pmode: SDK access point %q looks like a %s name, not %s", apName, other, env)
		}
	}
	s := &Set{
		Name:    "sdk-" + strings.ToLower(env),
		Self:    apName,
		Parties: []Party{{Name: apName, PartyIDs: []PartyID{{Value: apName, Type: SDKPartyTypeAP}}}},
		Legs:    SDKLegs(),
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("pmode: SDK preset for %q: %w", apName, err)
	}
	return s, nil
}
