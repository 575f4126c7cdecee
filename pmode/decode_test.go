package pmode

import (
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"
)

// TestDecodeYAML decodes a P-Mode set the way the configuration layer does
// (YAML, then mapstructure with its hooks, unknown keys refused), to keep the
// struct tags honest.
func TestDecodeYAML(t *testing.T) {
	const doc = `
self: blue_gw
parties:
  - name: blue_gw
    partyIds: [{value: domibus-blue, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
  - name: red_gw
    partyIds: [{value: domibus-red, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
    endpoint: https://red.example/services/msh
    certificateFile: red.pem
legs:
  - name: tc1
    initiators: [blue_gw, red_gw]
    responders: "*"
    anyPartyIdType: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"
    service: {value: "bdx:noprocess", type: tc1}
    action: TC1Leg1
    agreementRef: {value: A1, type: T1}
    transportProfile: bdxr-transport-ebms3-as4-v1p0
    security: {sign: true, encrypt: true, signatureAlgorithm: rsa-sha256, requireSignedReceipt: true}
    reliability: {receipts: true, nonRepudiation: true, duplicateDetection: true, retry: "12;4;CONSTANT"}
    payloadProfile:
      maxSize: 104857600
      parts: [{name: payload, contentId: "cid:message", mimeType: text/xml, required: true}]
    properties: [{name: originalSender, type: iso6523-actorid-upis, required: true}]
    compression: true
  - name: tc2
    mep: oneway
    binding: push
    initiators: [red_gw]
    responders: [blue_gw]
    initiatorRole: "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"
    service: {value: "bdx:noprocess", type: tc1}
    action: TC2Leg1
    mpc: "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/defaultMPC"
    reliability: {receipts: true, retry: {strategy: PROGRESSIVE, timeout: 60, initial: 1, factor: 2}}
`
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
		t.Fatal(err)
	}
	var s Set
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		Result:           &s,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(raw); err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	l1, l2 := s.Legs[0], s.Legs[1]
	if len(l1.Responders) != 1 || l1.Responders[0] != AnyParty || l1.Reliability.Retry.String() != "12;4;CONSTANT" ||
		l1.PayloadProfile.MaxSize != 100<<20 || l1.AgreementRef != (AgreementRef{"A1", "T1"}) || s.Parties[1].CertificateFile != "red.pem" {
		t.Errorf("leg 1: %+v", l1)
	}
	if l2.Reliability.Retry.String() != "60;1;2;PROGRESSIVE" || l2.MEP != MEPOneWay {
		t.Errorf("leg 2: %+v", l2)
	}
}
