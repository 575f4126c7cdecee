package pmode

import (
	"errors"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
)

func TestValidateValidSets(t *testing.T) {
	if err := blueRed().Validate(); err != nil {
		t.Errorf("blue/red set: %v", err)
	}
	if err := mustSDK(t).Validate(); err != nil {
		t.Errorf("SDK set: %v", err)
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Set)
		want   []string
	}{
		{"sha1 signature", func(s *Set) { s.Legs[1].Security.SignatureAlgorithm = "rsa-sha1" },
			[]string{`pmodes.legs[1].security.signatureAlgorithm: "rsa-sha1" is not allowed: SHA-1 signatures are broken (use rsa-sha256, rsa-sha384, rsa-sha512)`}},
		{"unknown digest", func(s *Set) { s.Legs[0].Security.DigestAlgorithm = "md5" },
			[]string{`pmodes.legs[0].security.digestAlgorithm: "md5" is not a known digest algorithm (use sha256, sha384, sha512)`}},
		{"cbc", func(s *Set) { s.Legs[0].Security.DataEncryption = "aes128-cbc" },
			[]string{`pmodes.legs[0].security.dataEncryption: "aes128-cbc" is not allowed: CBC mode is open to padding-oracle attacks; AS4 uses GCM (use aes128-gcm, aes192-gcm, aes256-gcm)`}},
		{"rsa 1.5", func(s *Set) { s.Legs[0].Security.KeyTransport = "rsa-1_5" },
			[]string{`pmodes.legs[0].security.keyTransport: "rsa-1_5" is not allowed: RSA PKCS#1 v1.5 key transport is open to Bleichenbacher attacks (use rsa-oaep, rsa-oaep-mgf1p)`}},
		{"mgf1p with sha256 mgf", func(s *Set) {
			s.Legs[0].Security.KeyTransport = "rsa-oaep-mgf1p"
			s.Legs[0].Security.KeyTransportMGF = "mgf1sha256"
		}, []string{`pmodes.legs[0].security.keyTransportMgf: "mgf1sha256" cannot be used with rsa-oaep-mgf1p, whose MGF is always MGF1-SHA1 (use keyTransport rsa-oaep)`}},
		{"self missing", func(s *Set) { s.Self = "" },
			[]string{`pmodes.self: is required: the name of this access point's own party in parties`}},
		{"self unknown", func(s *Set) { s.Self = "green_gw" },
			[]string{`pmodes.self: "green_gw" names no party (have: blue_gw, red_gw)`,
				`pmodes.legs[0]: neither initiators nor responders include this access point "green_gw" (or "*"): the leg would never be used`,
				`pmodes.legs[1]: neither initiators nor responders include this access point "green_gw" (or "*"): the leg would never be used`}},
		{"duplicate party", func(s *Set) {
			s.Parties = append(s.Parties, Party{Name: "blue_gw", PartyIDs: []PartyID{{Value: "urn:x:blue2"}}})
		},
			[]string{`pmodes.parties[2].name: "blue_gw" is also the name of parties[0]`}},
		{"untyped party id not a URI", func(s *Set) { s.Parties[1].PartyIDs = []PartyID{{Value: "0088:5798000000001"}} },
			[]string{`pmodes.parties[1].partyIds[0].type: is required: "0088:5798000000001" without a type must be a URI (ebMS 3.0 Core eb:PartyId): "0088:5798000000001": "0088" before ':' is not a URI scheme`}},
		{"shared party id", func(s *Set) { s.Parties[1].PartyIDs = append(s.Parties[1].PartyIDs, s.Parties[0].PartyIDs[0]) },
			[]string{`pmodes.parties[1].partyIds[1]: "domibus-blue" (type "urn:oasis:names:tc:ebcore:partyid-type:unregistered") is also an identifier of parties[0] "blue_gw": a message could not tell them apart`}},
		{"endpoint", func(s *Set) { s.Parties[1].Endpoint = "red.example:8080/msh" },
			[]string{`pmodes.parties[1].endpoint: "red.example:8080/msh" is not an http(s) URL with a host`}},
		{"no party ids", func(s *Set) { s.Parties[1].PartyIDs = nil },
			[]string{`pmodes.parties[1].partyIds: at least one PartyId is required`}},
		{"unknown initiator", func(s *Set) { s.Legs[0].Initiators = []string{"red_gw", "green_gw"} },
			[]string{`pmodes.legs[0].initiators[1]: "green_gw" names no party (have: blue_gw, red_gw; or "*" for any party)`}},
		{"leg without us", func(s *Set) { s.Legs[1].Initiators, s.Legs[1].Responders = []string{"red_gw"}, []string{"red_gw"} },
			[]string{`pmodes.legs[1]: neither initiators nor responders include this access point "blue_gw" (or "*"): the leg would never be used`}},
		{"twoway", func(s *Set) { s.Legs[0].MEP = "twoway" },
			[]string{`pmodes.legs[0].mep: "twoway" is not supported (as4gw implements one-way push; use "oneway")`}},
		{"pull", func(s *Set) { s.Legs[0].Binding = "pull" },
			[]string{`pmodes.legs[0].binding: "pull" is not supported (as4gw implements one-way push; use "push")`}},
		{"no service or action", func(s *Set) { s.Legs[0].Service, s.Legs[0].Action = Service{}, "" },
			[]string{`pmodes.legs[0].service.value: is required`, `pmodes.legs[0].action: is required`}},
		{"untyped service", func(s *Set) { s.Legs[0].Service = Service{Value: "bdx:noprocess extra"} },
			[]string{`pmodes.legs[0].service.type: is required: service "bdx:noprocess extra" without a type must be a URI (ebMS 3.0 Core eb:Service): "bdx:noprocess extra" contains ' ', which a URI cannot hold`}},
		{"callback", func(s *Set) { s.Legs[0].Reliability.ReplyPattern = "callback" },
			[]string{`pmodes.legs[0].reliability.replyPattern: "callback" is not supported (as4gw returns receipts and errors on the HTTP response: use "response")`}},
		{"nrr unsigned", func(s *Set) { s.Legs[0].Security = Security{} },
			[]string{`pmodes.legs[0].reliability.nonRepudiation: needs security.sign: a non-repudiation receipt returns the digests of the signed parts`}},
		{"signed receipt without receipts", func(s *Set) {
			s.Legs[0].Reliability.Receipts, s.Legs[0].Reliability.NonRepudiation = false, false
		}, []string{`pmodes.legs[0].security.requireSignedReceipt: needs reliability.receipts: no receipt is expected on this leg`}},
		{"bad retry", func(s *Set) {
			s.Legs[0].Reliability.Retry = RetryPolicy{Strategy: RetryProgressive, Timeout: 10, Initial: 1, Factor: 1}
		},
			[]string{`pmodes.legs[0].reliability.retry: factor 1 must be greater than 1`}},
		{"payload profile", func(s *Set) {
			s.Legs[0].PayloadProfile = PayloadProfile{MaxSize: -1, Parts: []PayloadPart{
				{ContentID: "cid:message", MimeType: "text/xml"},
				{ContentID: "MESSAGE", MimeType: "text xml"},
				{},
			}}
		}, []string{
			`pmodes.legs[0].payloadProfile.maxSize: -1 is negative (0 means no limit)`,
			`pmodes.legs[0].payloadProfile.parts[1].contentId: "MESSAGE" is also the Content-ID of parts[0]`,
			`pmodes.legs[0].payloadProfile.parts[1].mimeType: "text xml" is not a MIME type: mime: expected slash after first token`,
			`pmodes.legs[0].payloadProfile.parts[2].contentId: is required (e.g. "cid:message"; or set inBody)`,
		}},
		{"properties", func(s *Set) {
			s.Legs[0].Properties = []PropertyRule{{Name: "originalSender"}, {Name: "originalSender"}, {TypeRequired: true}}
		}, []string{
			`pmodes.legs[0].properties[1].name: "originalSender" is also the name of pmodes.legs[0].properties[0]`,
			`pmodes.legs[0].properties[2].name: is required`,
		}},
		{"overlapping legs", func(s *Set) { s.Legs[1].Action = s.Legs[0].Action },
			[]string{`pmodes.legs[1]: takes the same messages as legs[0] "tc1" (same service, action, roles, AgreementRef and MPC, overlapping parties, equally specific): make them differ or remove one`}},
		{"duplicate leg name", func(s *Set) { s.Legs[1].Name = "tc1" },
			[]string{`pmodes.legs[1].name: "tc1" is also the name of legs[0]`}},
		{"anyPartyIdType without *", func(s *Set) { s.Legs[0].AnyPartyIDType = SDKPartyTypeAP },
			[]string{`pmodes.legs[0].anyPartyIdType: has no effect: no initiator or responder is "*"`}},
		{"no legs", func(s *Set) { s.Legs = nil },
			[]string{`pmodes.legs: no legs: nothing could be sent or received`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blueRed()
			tc.mutate(s)
			err := s.Validate()
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Validate() = %v, want Problems", err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if err.Error() != strings.Join(tc.want, "\n") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestValidateAtPrefix(t *testing.T) {
	s := blueRed()
	s.Self = ""
	err := s.ValidateAt("tenants[2].pmodes")
	if err == nil || !strings.HasPrefix(err.Error(), "tenants[2].pmodes.self: ") {
		t.Errorf("ValidateAt = %v", err)
	}
}

func TestOverlapSpecificity(t *testing.T) {
	// A partner-specific leg beside a leg for any party is not ambiguous: the
	// specific one wins for that partner. Two legs for "any party" with the
	// same collaboration are.
	s := mustSDK(t)
	s.Parties = append(s.Parties, Party{Name: "partner", PartyIDs: []PartyID{{Value: peerAP, Type: SDKPartyTypeAP}}})
	special := SDKLegs()[0]
	special.Name = "partner-message"
	special.Initiators = []string{"partner"}
	s.Legs = append(s.Legs, special)
	if err := s.Validate(); err != nil {
		t.Errorf("specific beside wildcard: %v", err)
	}
	// (partner, *) and (*, self) tie for a message from partner to us.
	cross := SDKLegs()[0]
	cross.Name = "cross"
	cross.Responders = []string{ourAP}
	s.Legs = append(s.Legs, cross)
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), `pmodes.legs[3]: takes the same messages as legs[2] "partner-message"`) {
		t.Errorf("crossed wildcards: %v", err)
	}
	// Different AgreementRefs never overlap; an unset one is less specific.
	a, b := SDKLegs()[0], SDKLegs()[0]
	a.AgreementRef, b.AgreementRef = AgreementRef{Value: "A"}, AgreementRef{Value: "B"}
	if overlaps(&a, &b) {
		t.Error("legs with agreements A and B overlap")
	}
	b.AgreementRef = AgreementRef{}
	if overlaps(&a, &b) {
		t.Error("leg with agreement A overlaps the same leg without one")
	}
}

func TestApplyDefaults(t *testing.T) {
	s := &Set{Legs: []Leg{{
		Security:    Security{Sign: true, Encrypt: true, SignatureAlgorithm: "RSA-SHA512", KeyTransport: "rsa-oaep-mgf1p"},
		Reliability: Reliability{Receipts: true},
	}}}
	s.ApplyDefaults()
	l := s.Legs[0]
	want := Security{
		Sign: true, Encrypt: true,
		SignatureAlgorithm: wssec.AlgRSASHA512, DigestAlgorithm: wssec.AlgSHA256,
		DataEncryption: aesgcm.AES128GCM, KeyTransport: aesgcm.RSAOAEPMGF1P,
		KeyTransportDigest: aesgcm.DigestSHA256, KeyTransportMGF: aesgcm.MGF1SHA1,
	}
	if l.Security != want {
		t.Errorf("security:\n%+v\nwant\n%+v", l.Security, want)
	}
	if l.MEP != MEPOneWay || l.Binding != BindingPush || l.MPC == "" || l.InitiatorRole == "" || l.ResponderRole == "" ||
		l.Reliability.ReplyPattern != ReplyPatternResponse {
		t.Errorf("defaults not filled: %+v", l)
	}
	// A refused name is left for Validate to report, not silently replaced.
	s.Legs[0].Security.DigestAlgorithm = "sha1"
	s.ApplyDefaults()
	if s.Legs[0].Security.DigestAlgorithm != "sha1" {
		t.Errorf("refused digest rewritten to %q", s.Legs[0].Security.DigestAlgorithm)
	}
}
