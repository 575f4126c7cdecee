package pmode

import (
	"os"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/internal/testutil"
)

const unregistered = "urn:oasis:names:tc:ebcore:partyid-type:unregistered"

func importVector(t *testing.T, name, party string) (*Set, []Warning) {
	t.Helper()
	f, err := os.Open(testutil.Vector(t, "domibus/"+name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, warnings, err := ImportDomibus(f, party)
	if err != nil {
		t.Fatalf("ImportDomibus(%s): %v", name, err)
	}
	return s, warnings
}

func TestImportDomibusSamples(t *testing.T) {
	for _, tc := range []struct{ file, self, peer, peerID string }{
		{"domibus-gw-sample-pmode-blue.xml", "blue_gw", "red_gw", "domibus-red"},
		{"domibus-gw-sample-pmode-red.xml", "red_gw", "blue_gw", "domibus-blue"},
	} {
		t.Run(tc.self, func(t *testing.T) {
			s, warnings := importVector(t, tc.file, "")
			if err := s.Validate(); err != nil {
				t.Errorf("imported set does not validate:\n%v", err)
			}
			if s.Self != tc.self {
				t.Errorf("self %q", s.Self)
			}
			wantParties := map[string]string{"blue_gw": "domibus-blue", "red_gw": "domibus-red"}
			if len(s.Parties) != 2 {
				t.Fatalf("parties: %+v", s.Parties)
			}
			for _, p := range s.Parties {
				if len(p.PartyIDs) != 1 || p.PartyIDs[0] != (PartyID{Value: wantParties[p.Name], Type: unregistered}) || p.Endpoint != "" {
					t.Errorf("party %+v", p)
				}
			}
			var names []string
			for _, l := range s.Legs {
				names = append(names, l.Name)
			}
			if strings.Join(names, ",") != "pushTestcase1tc1Action,testServiceCase" {
				t.Fatalf("legs %v", names)
			}
			tc1, test := s.Legs[0], s.Legs[1]
			if tc1.Service != (Service{Value: "bdx:noprocess", Type: "tc1"}) || tc1.Action != "TC1Leg1" ||
				test.Service != (Service{Value: ebms.TestService}) || test.Action != ebms.TestAction {
				t.Errorf("collaboration: %+v / %+v", tc1, test)
			}
			for _, l := range s.Legs {
				ok := strings.Join(l.Initiators, ",") == "blue_gw,red_gw" && strings.Join(l.Responders, ",") == "blue_gw,red_gw" &&
					l.InitiatorRole == ebms.RoleInitiator && l.ResponderRole == ebms.RoleResponder && l.MPC == ebms.DefaultMPC &&
					l.Security.Sign && l.Security.Encrypt && l.Security.SignatureAlgorithm == wssec.AlgRSASHA256 && l.Security.RequireSignedReceipt &&
					l.Reliability.Receipts && l.Reliability.NonRepudiation && l.Reliability.ReplyPattern == "response" &&
					l.Reliability.DuplicateDetection && l.Reliability.Retry.String() == "12;4;CONSTANT" &&
					l.Compression && l.PayloadProfile.MaxSize == 40894464 && len(l.PayloadProfile.Parts) == 2 &&
					l.PayloadProfile.Parts[0] == (PayloadPart{Name: "businessContentPayload", ContentID: "cid:message", MimeType: "text/xml", Required: true}) &&
					l.PayloadProfile.Parts[1] == (PayloadPart{Name: "businessContentAttachment", ContentID: "cid:attachment", MimeType: "application/octet-stream"}) &&
					len(l.Properties) == 2 && l.Properties[0] == (PropertyRule{Name: "finalRecipient", Required: true}) &&
					l.Properties[1] == (PropertyRule{Name: "originalSender", Required: true})
				if !ok {
					t.Errorf("leg %s: %+v", l.Name, l)
				}
			}
			var got []string
			for _, w := range warnings {
				got = append(got, w.String())
			}
			want := []string{
				`document: unescaped '<' or '&' in attribute values on line(s) 24, 28 (a template placeholder such as <red_hostname>?); read as literal text`,
				`mpc "defaultMpc": retention settings (retention_downloaded=0, retention_undownloaded=14400) are not P-Mode settings in as4gw (configure retention in the store); ignored`,
				`payloadProfile "MessageProfile": maxSize=40894464 imported as the limit on a message's total payload size (Domibus applies it per payload, and older versions ignore it)`,
				`party "red_gw": endpoint "http://<red_hostname>:8080/domibus/services/msh" is not a URL (a template placeholder?); left empty: set it, or let discovery find the endpoint`,
				`party "blue_gw": endpoint "http://<blue_hostname>:8080/domibus/services/msh" is not a URL (a template placeholder?); left empty: set it, or let discovery find the endpoint`,
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// A message from the peer on the test case leg matches it.
			u := sdkMessage("TC1Leg1")
			u.PartyInfo.From.PartyIDs = []ebms.PartyID{{Value: tc.peerID, Type: unregistered}}
			u.PartyInfo.To.PartyIDs = s.SelfParty().ids()
			u.CollaborationInfo.Service = ebms.Service{Value: "bdx:noprocess", Type: "tc1"}
			if l, err := s.MatchInbound(u); err != nil || l.Name != "pushTestcase1tc1Action" {
				t.Errorf("inbound from %s: %v, %v", tc.peer, l, err)
			}
			sub := Submission{Service: "bdx:noprocess", ServiceType: "tc1", Action: "TC1Leg1",
				OriginalSender: "C1", FinalRecipient: "C4", ToPartyID: tc.peerID, ToPartyType: unregistered}
			if l, err := s.MatchOutbound(sub); err != nil || l.Name != "pushTestcase1tc1Action" {
				t.Errorf("outbound to %s: %v, %v", tc.peer, l, err)
			}
		})
	}
}

func (p *Party) ids() []ebms.PartyID {
	out := make([]ebms.PartyID, len(p.PartyIDs))
	for i, id := range p.PartyIDs {
		out[i] = ebms.PartyID(id)
	}
	return out
}

func TestImportDomibusAsOtherParty(t *testing.T) {
	s, warnings := importVector(t, "domibus-gw-sample-pmode-blue.xml", "RED_GW")
	if s.Self != "red_gw" {
		t.Errorf("self %q", s.Self)
	}
	if len(warnings) < 2 || warnings[1].String() != `configuration: the file is the P-Mode of party "blue_gw"; imported for "RED_GW"` {
		t.Errorf("warnings: %v", warnings)
	}
}

// domibusDoc is a small, well-formed P-Mode; tests replace parts of it.
const domibusDoc = `<?xml version="1.0" encoding="UTF-8"?>
<db:configuration xmlns:db="http://domibus.eu/configuration" party="blue_gw">
 <mpcs><mpc name="defaultMpc" qualifiedName="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/defaultMPC" enabled="true" default="true"/></mpcs>
 <businessProcesses>
  <roles>
   <role name="i" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator"/>
   <role name="r" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder"/>
  </roles>
  <parties>
   <partyIdTypes><partyIdType name="t" value="urn:oasis:names:tc:ebcore:partyid-type:unregistered"/></partyIdTypes>
   <party name="red_gw" endpoint="https://red.example/services/msh?a=1&b=2"><identifier partyId="domibus-red" partyIdType="t"/></party>
   <party name="blue_gw" endpoint="https://blue.example/services/msh"><identifier partyId="domibus-blue" partyIdType="t"/></party>
  </parties>
  <meps>
   <mep name="oneway" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/oneWay"/>
   <mep name="twoway" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/twoWay"/>
   <binding name="push" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/push"/>
   <binding name="pull" value="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/pull"/>
  </meps>
  <securities><security name="sec" policy="eDeliveryAS4Policy.xml" signatureMethod="RSA_SHA256"/></securities>
  <errorHandlings><errorHandling name="eh" errorAsResponse="true"/></errorHandlings>
  <agreements><agreement name="ag" value="A1" type="T1"/></agreements>
  <services><service name="s" value="bdx:noprocess" type="tc1"/></services>
  <actions><action name="a" value="TC1Leg1"/><action name="b" value="TC2Leg1"/></actions>
  <as4>
   <receptionAwareness name="ra" retry="12;4;CONSTANT" duplicateDetection="true"/>
   <reliability name="rel" nonRepudiation="true" replyPattern="response"/>
  </as4>
  <legConfigurations>
   <legConfiguration name="leg1" service="s" action="a" defaultMpc="defaultMpc" reliability="rel" security="sec" receptionAwareness="ra" errorHandling="eh" compressPayloads="true"/>
   <legConfiguration name="leg2" service="s" action="b" defaultMpc="defaultMpc" reliability="rel" security="sec" receptionAwareness="ra" errorHandling="eh"/>
  </legConfigurations>
  <process name="p1" mep="oneway" binding="push" initiatorRole="i" responderRole="r">
   <initiatorParties><initiatorParty name="red_gw"/></initiatorParties>
   <responderParties><responderParty name="blue_gw"/></responderParties>
   <legs><leg name="leg1"/><leg name="leg2"/></legs>
  </process>
 </businessProcesses>
</db:configuration>`

func importString(t *testing.T, doc string) (*Set, []string, error) {
	t.Helper()
	s, warnings, err := ImportDomibus(strings.NewReader(doc), "")
	var ws []string
	for _, w := range warnings {
		ws = append(ws, w.String())
	}
	return s, ws, err
}

func TestImportDomibusBase(t *testing.T) {
	s, ws, err := importString(t, domibusDoc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || !strings.HasPrefix(ws[0], "document: unescaped '<' or '&' in attribute values on line(s) 11 ") {
		t.Errorf("warnings: %q", ws)
	}
	if s.Parties[0].Endpoint != "https://red.example/services/msh?a=1&b=2" {
		t.Errorf("endpoint %q", s.Parties[0].Endpoint)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	if len(s.Legs) != 2 || s.Legs[0].Name != "leg1" || !s.Legs[0].Compression || s.Legs[1].Compression {
		t.Errorf("legs: %+v", s.Legs)
	}
}

func TestImportDomibusWarnings(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string
		check          func(t *testing.T, s *Set)
	}{
		{"twoway process", `<process name="p1" mep="oneway"`, `<process name="p1" mep="twoway"`,
			`process "p1": mep "twoway" ("` + ebms.NamespaceEbMS + `twoWay") is not supported (one-way only); its legs were not imported`,
			func(t *testing.T, s *Set) {
				if len(s.Legs) != 0 {
					t.Errorf("legs imported: %d", len(s.Legs))
				}
			}},
		{"pull", `binding="push" initiatorRole`, `binding="pull" initiatorRole`,
			`process "p1": binding "pull" ("` + ebms.NamespaceEbMS + `pull") is not supported (push only); its legs were not imported`, nil},
		{"dynamic discovery", `<responderParties><responderParty name="blue_gw"/></responderParties>`, ``,
			`process "p1": no responderParties: imported as any party ("*"), as for Domibus dynamic discovery`,
			func(t *testing.T, s *Set) {
				if len(s.Legs[0].Responders) != 1 || s.Legs[0].Responders[0] != AnyParty {
					t.Errorf("responders %v", s.Legs[0].Responders)
				}
			}},
		{"doNothing", `policy="eDeliveryAS4Policy.xml"`, `policy="doNothingPolicy.xml"`,
			`security "sec": policy "doNothingPolicy.xml": legs using it send and accept unsigned, unencrypted messages`,
			func(t *testing.T, s *Set) {
				if l := s.Legs[0]; l.Security.Sign || l.Security.Encrypt || l.Reliability.NonRepudiation {
					t.Errorf("security %+v reliability %+v", l.Security, l.Reliability)
				}
				if err := s.Validate(); err != nil {
					t.Error(err)
				}
			}},
		{"signOnly", `policy="eDeliveryAS4Policy.xml"`, `policy="signOnly.xml"`, "",
			func(t *testing.T, s *Set) {
				if l := s.Legs[0]; !l.Security.Sign || l.Security.Encrypt {
					t.Errorf("security %+v", l.Security)
				}
			}},
		{"IssuerSerial variant", `policy="eDeliveryAS4Policy.xml"`, `policy="eDeliveryAS4Policy_IS.xml"`,
			`security "sec": policy "eDeliveryAS4Policy_IS.xml": the token reference variant (IS) is not a P-Mode setting in as4gw; inbound messages may use any of BST, IssuerSerial or SKI`, nil},
		{"unknown policy", `policy="eDeliveryAS4Policy.xml"`, `policy="custom/myPolicy.xml"`,
			`security "sec": policy "custom/myPolicy.xml" is not a known Domibus policy; imported as sign and encrypt (eDelivery AS4)`, nil},
		{"sha1 signature", `signatureMethod="RSA_SHA256"`, `signatureMethod="RSA_SHA1"`,
			`security "sec": signatureMethod "RSA_SHA1" is not supported (use rsa-sha256, rsa-sha384, rsa-sha512); RSA-SHA256 imported`,
			func(t *testing.T, s *Set) {
				if s.Legs[0].Security.SignatureAlgorithm != wssec.AlgRSASHA256 {
					t.Errorf("signature %q", s.Legs[0].Security.SignatureAlgorithm)
				}
			}},
		{"ECC profile", `signatureMethod="RSA_SHA256"`, `signatureMethod="RSA_SHA256" profile="ECC"`,
			`security "sec": security profile "ECC" is not supported (RSA only); RSA imported`, nil},
		{"bad retry", `retry="12;4;CONSTANT"`, `retry="12;4"`,
			`receptionAwareness "ra": retry "12;4": unknown strategy "4" (formats: TIMEOUT;COUNT;CONSTANT, TIMEOUT;INITIAL;FACTOR;PROGRESSIVE, SEND_ONCE; minutes); imported as SEND_ONCE`,
			func(t *testing.T, s *Set) {
				if s.Legs[0].Reliability.Retry.String() != "SEND_ONCE" {
					t.Errorf("retry %s", s.Legs[0].Reliability.Retry)
				}
			}},
		{"progressive retry", `retry="12;4;CONSTANT"`, `retry="60;1;2;PROGRESSIVE"`, "",
			func(t *testing.T, s *Set) {
				if s.Legs[0].Reliability.Retry.String() != "60;1;2;PROGRESSIVE" {
					t.Errorf("retry %s", s.Legs[0].Reliability.Retry)
				}
			}},
		{"callback", `replyPattern="response"`, `replyPattern="callback"`,
			`reliability "rel": replyPattern "callback" is not supported; imported as "response" (receipts on the HTTP response)`, nil},
		{"errorAsResponse", `errorAsResponse="true"`, `errorAsResponse="false" businessErrorNotifyProducer="false"`,
			`errorHandling "eh": errorAsResponse="false" is not supported: as4gw returns errors on the HTTP response`, nil},
		{"unknown attribute", `compressPayloads="true"/>`, `compressPayloads="true" splitting="big"/>`,
			`legConfiguration "leg1": splitting "big" (large-file fragments) is not supported; ignored`, nil},
		{"unknown element", `<agreements>`, `<email name="x"/><agreements>`,
			`businessProcesses: element <email> is not supported; ignored`, nil},
		{"agreement", `responderRole="r">`, `responderRole="r" agreement="ag">`, "",
			func(t *testing.T, s *Set) {
				if s.Legs[0].AgreementRef != (AgreementRef{Value: "A1", Type: "T1"}) {
					t.Errorf("agreement %+v", s.Legs[0].AgreementRef)
				}
			}},
		{"shared legConfiguration", `</businessProcesses>`, `<process name="p2" mep="oneway" binding="push" initiatorRole="i" responderRole="r">
   <initiatorParties><initiatorParty name="blue_gw"/></initiatorParties>
   <responderParties><responderParty name="red_gw"/></responderParties>
   <legs><leg name="leg1"/></legs></process></businessProcesses>`, "",
			func(t *testing.T, s *Set) {
				var names []string
				for _, l := range s.Legs {
					names = append(names, l.Name)
				}
				if strings.Join(names, ",") != "leg1@p1,leg2,leg1@p2" {
					t.Errorf("legs %v", names)
				}
				if err := s.Validate(); err != nil {
					t.Error(err)
				}
			}},
		{"unused legConfiguration", `<leg name="leg2"/>`, ``,
			`legConfiguration "leg2": is used by no importable process; not imported`, nil},
		{"unknown party in process", `<initiatorParty name="red_gw"/>`, `<initiatorParty name="red_gw"/><initiatorParty name="green_gw"/>`,
			`process "p1": initiatorParty "green_gw" is not defined in parties; ignored`, nil},
		{"process without us", `<responderParty name="blue_gw"/>`, `<responderParty name="red_gw"/>`,
			`process "p1": our party "blue_gw" is neither initiator nor responder; its legs were not imported`, nil},
		{"unknown service", `service="s" action="a"`, `service="nope" action="a"`,
			`legConfiguration "leg1": service "nope" is not defined in services; leg not imported`, nil},
		{"disabled mpc", `enabled="true"`, `enabled="false"`,
			`mpc "defaultMpc": enabled="false" is not supported: legs using this MPC are imported as usable`, nil},
		{"undefined party id type", `partyId="domibus-red" partyIdType="t"`, `partyId="domibus-red" partyIdType="u"`,
			`party "red_gw": identifier "domibus-red": partyIdType "u" is not defined in partyIdTypes; imported without type`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(domibusDoc, tc.old, tc.new, 1)
			if doc == domibusDoc {
				t.Fatalf("test replaces nothing: %q", tc.old)
			}
			s, ws, err := importString(t, doc)
			if err != nil {
				t.Fatal(err)
			}
			found := tc.want == ""
			for _, w := range ws {
				found = found || w == tc.want
			}
			if !found {
				t.Errorf("warnings lack\n%s\ngot:\n%s", tc.want, strings.Join(ws, "\n"))
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestImportDomibusErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not XML", "configuration", "pmode: Domibus P-Mode root is nothing, expects <configuration>"},
		{"broken XML", "<configuration><a></configuration>", "pmode: Domibus P-Mode is not well-formed XML"},
		{"wrong root", `<process xmlns="http://domibus.eu/configuration"/>`, "pmode: Domibus P-Mode root is <process>, expects <configuration>"},
		{"no businessProcesses", `<configuration party="x"/>`, "pmode: Domibus P-Mode has no businessProcesses"},
		{"no party", `<configuration><businessProcesses/></configuration>`, "pmode: Domibus P-Mode names no party of its own"},
		{"our party missing", strings.Replace(domibusDoc, `party="blue_gw">`, `party="green_gw">`, 1),
			`pmode: our party "green_gw" is not among the Domibus parties (red_gw, blue_gw)`},
	}
	for _, tc := range tests {
		_, _, err := importString(t, tc.doc)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	big := strings.NewReader(strings.Repeat(" ", maxDomibusFile+1))
	if _, _, err := ImportDomibus(big, "x"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: %v", err)
	}
}

func TestRepairAttributeValues(t *testing.T) {
	in := "<?xml version=\"1.0\"?>\n<!-- <a b=\"<\"> & -->\n<a x=\"<h>&amp;&#38;&#x26;&q\" y='1<2'>t &amp; <![CDATA[ <b c=\"<\"> ]]></a>"
	want := "<?xml version=\"1.0\"?>\n<!-- <a b=\"<\"> & -->\n<a x=\"&lt;h>&amp;&#38;&#x26;&amp;q\" y='1&lt;2'>t &amp; <![CDATA[ <b c=\"<\"> ]]></a>"
	out, lines := repairAttributeValues([]byte(in))
	if string(out) != want {
		t.Errorf("repaired:\n%s\nwant:\n%s", out, want)
	}
	if joinInts(lines) != "3, 3, 3" {
		t.Errorf("lines %v", lines)
	}
	clean := []byte(domibusDoc)
	if _, lines := repairAttributeValues(clean); len(lines) != 1 {
		t.Errorf("base document: %d repairs", len(lines))
	}
}
