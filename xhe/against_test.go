package xhe

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

// TestTF10: every envelope in testdata/tf10 is valid but contradicts the AS4 headers of the
// message that carried tf07-minimal.xml; CheckAgainst names exactly the expected headers.
func TestTF10(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "tf10", "*.xml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("tf10 files: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".xml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := expectationKeys(expectations(t, data))
			e, err := Parse(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Check(); err != nil {
				t.Fatalf("tf10 envelopes must be valid: %v", err)
			}
			err = CheckAgainst(sentMessage(t), e)
			if err == nil {
				t.Fatal("accepted")
			}
			xe := asError(t, err)
			if xe.Kind != KindContradiction {
				t.Errorf("kind %v", xe.Kind)
			}
			if got := problemKeys(xe.Problems, true); !slices.Equal(got, want) {
				t.Errorf("problems\n got %q\nwant %q", got, want)
			}
			sig := xe.EBMSError("msg-1@ap0040.example")
			if sig.ErrorCode != ebms.CodeOther || sig.Severity != ebms.SeverityFailure || sig.ErrorDetail != "NOT_SERVICED" ||
				sig.RefToMessageInError != "msg-1@ap0040.example" || sig.Description == nil || !strings.Contains(sig.Description.Text, "disagrees") {
				t.Errorf("signal %+v", sig)
			}
		})
	}
}

// Header-side variations of TF-10, against tf07-minimal.xml.
func TestCheckAgainstHeaders(t *testing.T) {
	e := mustParseFile(t, "tf07-minimal.xml")
	setProp := func(name, typ, value string) func(*ebms.UserMessage) {
		return func(u *ebms.UserMessage) {
			for i := range u.MessageProperties {
				if u.MessageProperties[i].Name == name {
					u.MessageProperties[i].Type, u.MessageProperties[i].Value = typ, value
				}
			}
		}
	}
	dropProp := func(name string) func(*ebms.UserMessage) {
		return func(u *ebms.UserMessage) {
			u.MessageProperties = slices.DeleteFunc(u.MessageProperties, func(p ebms.Property) bool { return p.Name == name })
		}
	}
	cases := []struct {
		name   string
		mutate func(*ebms.UserMessage)
		want   []string // headers that disagree; nil = accepted
	}{
		{"as sent", func(*ebms.UserMessage) {}, nil},
		{"recipient in other case", setProp("finalRecipient", "iso6523-actorid-upis", "0203:Sundbyberg.SE"), nil},
		{"recipient type missing (SDK accepts)", setProp("finalRecipient", "", "0203:sundbyberg.se"), nil},
		{"sender type in other case", setProp("originalSender", "ISO6523-ACTORID-UPIS", "0203:malmo.se"), nil},
		{"conversation id upper case", func(u *ebms.UserMessage) {
			u.CollaborationInfo.ConversationID = strings.ToUpper(u.CollaborationInfo.ConversationID)
		}, nil},
		{"values padded", func(u *ebms.UserMessage) { u.CollaborationInfo.Action = " " + u.CollaborationInfo.Action + "\n" }, nil},
		{"other recipient", setProp("finalRecipient", "iso6523-actorid-upis", "0203:solna.se"), []string{HeaderFinalRecipient}},
		{"recipient type other", setProp("finalRecipient", "urn:oasis:names:tc:ebcore:partyid-type:iso6523:0203", "0203:sundbyberg.se"), []string{HeaderFinalRecipientType}},
		{"no finalRecipient", dropProp("finalRecipient"), []string{HeaderFinalRecipient}},
		{"no originalSender", dropProp("originalSender"), []string{HeaderOriginalSender}},
		{"second, different finalRecipient", func(u *ebms.UserMessage) {
			u.MessageProperties = append(u.MessageProperties, ebms.Property{Name: "finalRecipient", Value: "0203:solna.se"})
		}, []string{HeaderFinalRecipient}},
		{"service", func(u *ebms.UserMessage) { u.CollaborationInfo.Service.Value = "urn:other" }, []string{HeaderService}},
		{"service type missing", func(u *ebms.UserMessage) { u.CollaborationInfo.Service.Type = "" }, []string{HeaderServiceType}},
		{"business receipt action", func(u *ebms.UserMessage) {
			u.CollaborationInfo.Action = "busdox-docid-qns::urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"
		}, []string{HeaderAction}},
		{"action without scheme", func(u *ebms.UserMessage) {
			u.CollaborationInfo.Action = strings.TrimPrefix(u.CollaborationInfo.Action, "busdox-docid-qns::")
		}, []string{HeaderAction}},
		{"conversation id", func(u *ebms.UserMessage) { u.CollaborationInfo.ConversationID = "conv-1" }, []string{HeaderConversationID}},
		{"everything", func(u *ebms.UserMessage) {
			*u = ebms.UserMessage{}
		}, []string{HeaderAction, HeaderConversationID, HeaderFinalRecipient, HeaderOriginalSender, HeaderService, HeaderServiceType}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := sentMessage(t)
			c.mutate(u)
			err := CheckAgainst(u, e)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			xe := asError(t, err)
			var got []string
			for _, p := range xe.Problems {
				if p.Rule != RuleConsistency || p.Path == "" || !strings.HasPrefix(p.Path, "XHE/") {
					t.Errorf("problem %+v lacks rule or XHE path", p)
				}
				got = append(got, p.Header)
			}
			slices.Sort(got)
			got = slices.Compact(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if xe.Kind != KindContradiction || !slices.Equal(got, want) {
				t.Errorf("got %v %q\nwant %q\nerr %v", xe.Kind, got, want, err)
			}
		})
	}
}

func TestCheckAgainstMessageNamesBothSides(t *testing.T) {
	u := sentMessage(t)
	u.MessageProperties[1].Value = "0203:solna.se" // finalRecipient
	err := CheckAgainst(u, mustParseFile(t, "tf07-minimal.xml"))
	want := `eb:MessageProperties/eb:Property[@name="finalRecipient"] vs XHE/Header/ToParty/PartyIdentification/ID: finalRecipient "0203:solna.se" disagrees with ToParty "0203:sundbyberg.se" [SDK-CONSISTENCY]`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v\nwant it to contain %s", err, want)
	}
}

func TestEBMSErrorForMalformed(t *testing.T) {
	e := mustParse(t, minimalXML(t, "3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90", "abc"))
	err := CheckAgainst(sentMessage(t), e)
	xe := asError(t, err)
	sig := xe.EBMSError("m@x")
	if xe.Kind != KindMalformed || sig.ErrorCode != ebms.CodeOther || sig.Severity != ebms.SeverityFailure ||
		!strings.Contains(sig.ErrorDetail, `XHE/Header/ID: "abc" is not a UUID`) {
		t.Errorf("signal %+v", sig)
	}
	// Long problem lists are cut, on a rune boundary.
	long := &Error{Kind: KindMalformed, Problems: []Problem{{Path: "XHE", Rule: RuleR2, Msg: strings.Repeat("å", 2000)}}}
	sig = long.EBMSError("")
	if len(sig.ErrorDetail) > maxDetail || !strings.HasSuffix(sig.ErrorDetail, "…") || !utf8Valid(sig.ErrorDetail) {
		t.Errorf("detail not truncated cleanly: %d bytes", len(sig.ErrorDetail))
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestKindString(t *testing.T) {
	for _, k := range []Kind{KindMalformed, KindContradiction, KindUnsupported, Kind(99)} {
		if k.String() == "" {
			t.Errorf("%d has no name", int(k))
		}
	}
}
