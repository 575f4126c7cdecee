package xhe

import (
	"slices"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

const (
	wantMessageAction = "busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"
	wantReceiptAction = "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"
)

func TestDerive(t *testing.T) {
	cases := []struct {
		file string
		want Headers
	}{
		{"tf07-minimal.xml", Headers{
			OriginalSender: ebms.Property{Name: "originalSender", Type: "iso6523-actorid-upis", Value: "0203:malmo.se"},
			FinalRecipient: ebms.Property{Name: "finalRecipient", Type: "iso6523-actorid-upis", Value: "0203:sundbyberg.se"},
			Service:        ebms.Service{Value: "bdx:noprocess", Type: "urn:fdc:digg.se:edelivery:process"},
			Action:         wantMessageAction,
			ConversationID: "3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90",
			FederationID:   "urn:fdc:digg.se:edelivery:federation:qa",
		}},
		{"tf06-maximal.xml", Headers{
			OriginalSender: ebms.Property{Name: "originalSender", Type: "iso6523-actorid-upis", Value: "0007:2120001124"},
			FinalRecipient: ebms.Property{Name: "finalRecipient", Type: "iso6523-actorid-upis", Value: "0203:Sundbyberg.se"},
			Service:        ebms.Service{Value: "bdx:noprocess", Type: "urn:fdc:digg.se:edelivery:process"},
			Action:         wantMessageAction,
			ConversationID: "9B2E4C71-0D3A-4F6E-A5B8-7C1D2E3F4A5B",
			FederationID:   "urn:fdc:digg.se:edelivery:federation:qa",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := mustParseFile(t, c.file).Derive()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDeriveBusinessReceipt(t *testing.T) {
	e := mustParse(t, minimalXML(t,
		"urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc",
		"urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"))
	h, err := e.Derive()
	if err != nil {
		t.Fatal(err)
	}
	if h.Action != wantReceiptAction {
		t.Errorf("Action = %q", h.Action)
	}
}

// Round trip: the headers Derive gives, written into a UserMessage, satisfy CheckAgainst at
// the receiving side, for every valid envelope in testdata.
func TestDeriveApplyCheckAgainstRoundTrip(t *testing.T) {
	for _, name := range []string{"tf06-maximal.xml", "tf07-minimal.xml"} {
		t.Run(name, func(t *testing.T) {
			e := mustParseFile(t, name)
			h, err := e.Derive()
			if err != nil {
				t.Fatal(err)
			}
			u := &ebms.UserMessage{MessageProperties: []ebms.Property{
				{Name: "trackingId", Value: "42"},
				{Name: ebms.PropertyFinalRecipient, Value: "0203:stale.se"},
			}}
			h.Apply(u)
			if err := CheckAgainst(u, e); err != nil {
				t.Fatal(err)
			}
			if u.CollaborationInfo.ConversationID != e.ID() || u.CollaborationInfo.Action != h.Action || u.CollaborationInfo.Service != h.Service {
				t.Errorf("collaboration info %+v", u.CollaborationInfo)
			}
			names := []string{}
			for _, p := range u.MessageProperties {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, []string{"trackingId", "originalSender", "finalRecipient"}) {
				t.Errorf("properties %v: other properties must stay, ours replace stale ones", names)
			}
		})
	}
}

func TestDeriveUnsupported(t *testing.T) {
	cases := map[string]struct {
		pairs []string
		path  string
	}{
		"transport model tm-base": {
			[]string{"::tm-base-ext-sigenc<", "::tm-base<"},
			"XHE/Header/BusinessScope/BusinessScopeCriterion[1]/BusinessScopeCriterionValue"},
		"no transport model": {
			[]string{"messagePayload##3.0::tm-base-ext-sigenc<", "messagePayload##3.0<"},
			"XHE/Header/BusinessScope/BusinessScopeCriterion[1]/BusinessScopeCriterionValue"},
		"only the suffix": {
			[]string{"urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc<", "::tm-base-ext-sigenc<"},
			"XHE/Header/BusinessScope/BusinessScopeCriterion[1]/BusinessScopeCriterionValue"},
		"document id scheme": {
			[]string{"<BusinessScopeCriterionValue>busdox-docid-qns<", "<BusinessScopeCriterionValue>peppol-doctype-wildcard<"},
			"XHE/Header/BusinessScope/BusinessScopeCriterion[2]/BusinessScopeCriterionValue"},
		"process scheme": {
			[]string{"<BusinessScopeCriterionValue>urn:fdc:digg.se:edelivery:process<", "<BusinessScopeCriterionValue>cenbii-procid-ubl<"},
			"XHE/Header/BusinessScope/BusinessScopeCriterion[4]/BusinessScopeCriterionValue"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := mustParse(t, minimalXML(t, c.pairs...))
			if err := e.Check(); err != nil {
				t.Fatalf("the envelope itself is valid: %v", err)
			}
			_, err := e.Derive()
			xe := asError(t, err)
			if xe.Kind != KindUnsupported || len(xe.Problems) != 1 || xe.Problems[0].Rule != RuleTransport || xe.Problems[0].Path != c.path {
				t.Errorf("got %v", err)
			}
			sig := xe.EBMSError("m@x")
			if sig.ErrorCode != ebms.CodeOther || sig.ErrorDetail != "NOT_SERVICED" {
				t.Errorf("signal %+v", sig)
			}
		})
	}
}

func TestDeriveNeverAppendsSuffix(t *testing.T) {
	h, err := mustParseFile(t, "tf07-minimal.xml").Derive()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(h.Action, TransportModelSuffix) != 1 {
		t.Errorf("Action %q", h.Action)
	}
}
