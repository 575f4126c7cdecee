package xhe

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidEnvelopesPassCheck(t *testing.T) {
	for _, name := range []string{"tf06-maximal.xml", "tf07-minimal.xml"} {
		t.Run(name, func(t *testing.T) {
			if err := mustParseFile(t, name).Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Variants of tf07-minimal.xml that the profile accepts.
func TestCheckAcceptsVariants(t *testing.T) {
	cases := map[string][]string{
		"upper-case UUID":      {"3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90", "3F0C2D4E-8A61-4B7E-9C35-1D2E6F7A8B90"},
		"offset zone":          {"2025-03-14T09:26:53Z", "2025-03-14T10:26:53.1+01:00"},
		"negative offset zone": {"2025-03-14T09:26:53Z", "2025-03-14T04:26:53-05:00"},
		"boolean 0":            {"<InstanceEncryptionIndicator>false<", "<InstanceEncryptionIndicator>0<"},
		"padded values":        {"<BusinessScopeCriterionTypeCode>PROCESSID</", "<BusinessScopeCriterionTypeCode>\n  PROCESSID\t</"},
		"ICD 0007":             {"0203:malmo.se", "0007:2120001124"},
		"ICD 0088":             {"0203:sundbyberg.se", "0088:7300010000001"},
		"extra criterion":      {"    </xha:BusinessScope>", "      <xha:BusinessScopeCriterion><BusinessScopeCriterionTypeCode>OTHER</BusinessScopeCriterionTypeCode><BusinessScopeCriterionValue>x</BusinessScopeCriterionValue></xha:BusinessScopeCriterion>\n    </xha:BusinessScope>"},
		"Header/UUID":          {"<CreationDateTime>", "<UUID>0e8f6a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b</UUID><CreationDateTime>"},
		"comment in value":     {"<ContentTypeCode>application/xml<", "<ContentTypeCode>application<!-- c -->/xml<"},
		"encrypted payload with empty xmlenc elements": {"<InstanceEncryptionIndicator>false<", "<InstanceEncryptionIndicator>true<"},
		"schemaLocation":         {"<x:XHE ", `<x:XHE xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="a b" `},
		"two root signatures":    {"</x:XHE>", `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignatureValue/></Signature><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/></x:XHE>`},
		"processing declaration": {"<x:XHE ", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<x:XHE "},
	}
	for name, pairs := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "encrypted payload with empty xmlenc elements" {
				pairs = append(pairs, `<xha:PayloadContent><m:Message xmlns:m="urn:riv:infrastructure:messaging:MessageWithAttachments:3"><m:messageHeader><m:messageId>c5a1f0e2-77d4-4d0b-8e3a-9b6c2f1d4e5a</m:messageId></m:messageHeader></m:Message></xha:PayloadContent>`,
					`<xha:PayloadContent><EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#"><EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/><CipherData><CipherValue/></CipherData></EncryptedData></xha:PayloadContent>`)
			}
			e := mustParse(t, minimalXML(t, pairs...))
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTF09 checks every malformed envelope in testdata/tf09 against the problems its
// comment expects: exactly those (rule and path), nothing else.
func TestTF09(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "tf09", "*.xml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("tf09 files: %v %v", files, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".xml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, withPath := expectationKeys(expectations(t, data))
			e, err := Parse(bytes.NewReader(data), Limits{})
			if err == nil {
				err = e.Check()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			xe := asError(t, err)
			if xe.Kind != KindMalformed {
				t.Errorf("kind %v", xe.Kind)
			}
			if got := problemKeys(xe.Problems, withPath); !slices.Equal(got, want) {
				t.Errorf("problems\n got %q\nwant %q\n err %v", got, want, err)
			}
			// Derive and CheckAgainst report the same malformed envelope.
			if e != nil {
				if _, derr := e.Derive(); derr == nil || asError(t, derr).Kind != KindMalformed {
					t.Errorf("Derive: %v", derr)
				}
				if cerr := CheckAgainst(sentMessage(t), e); cerr == nil || asError(t, cerr).Kind != KindMalformed {
					t.Errorf("CheckAgainst: %v", cerr)
				}
			}
		})
	}
}

// Every rule id has a TF-09 file that triggers it (SDK-TRANSPORT and SDK-CONSISTENCY are
// covered by the Derive and CheckAgainst tests).
func TestEveryRuleHasATF09Case(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "tf09", "*.xml"))
	seen := map[string]bool{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, e := range expectations(t, data) {
			seen[e.rule] = true
		}
	}
	for _, r := range []string{RuleR1, RuleR2, RuleR3, RuleR4, RuleR5, RuleR6, RuleR7, RuleR8, RuleR9,
		RuleR10, RuleR11, RuleR12, RuleR13, RuleR14, RuleSchema, RuleUUID, RuleZone, RuleOneParty,
		RuleParticipant, RuleScopeUnique, RuleXML} {
		if !seen[r] {
			t.Errorf("no tf09 case for %s", r)
		}
	}
}

func TestCheckCollectsAllProblems(t *testing.T) {
	data := minimalXML(t,
		"3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90", "abc",
		"2025-03-14T09:26:53Z", "2025-03-14T09:26:53",
		"urn:fdc:digg.se:edelivery:xhe:1", "urn:other",
		`<ID schemeID="iso6523-actorid-upis">0203:sundbyberg.se</ID>`, `<ID schemeID="x">0203:sundbyberg.se</ID>`)
	err := mustParse(t, data).Check()
	xe := asError(t, err)
	want := []string{
		"R11-XHE XHE/Header/ToParty/PartyIdentification/ID/@schemeID",
		"R3-XHE XHE/CustomizationID",
		"SDK-UUID XHE/Header/ID",
		"SDK-ZONE XHE/Header/CreationDateTime",
	}
	if got := problemKeys(xe.Problems, true); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, s := range []string{`XHE/Header/ID: "abc" is not a UUID [SDK-UUID]`, `XHE/CustomizationID: "urn:other" is not urn:fdc:digg.se:edelivery:xhe:1 [R3-XHE]`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"862693f7-53d4-4d96-b35c-470055710092":          true,
		"862693F7-53D4-4D96-B35C-470055710092":          true,
		"00000000-0000-0000-0000-000000000000":          true,
		"862693f753d44d96b35c470055710092":              false,
		"{862693f7-53d4-4d96-b35c-470055710092}":        false,
		"urn:uuid:862693f7-53d4-4d96-b35c-470055710092": false,
		"862693f7-53d4-4d96-b35c-47005571009g":          false,
		"862693f7-53d4-4d96-b35c_470055710092":          false,
		"":                                              false,
	} {
		if isUUID(s) != want {
			t.Errorf("isUUID(%q) = %v", s, !want)
		}
	}
}

func TestCheckDateTime(t *testing.T) {
	for s, want := range map[string]string{
		"2022-01-30T17:52:58.1Z":     "",
		"2022-01-30T17:52:58+14:00":  "",
		"2022-01-30T17:52:58-00:00":  "",
		"2022-01-30T17:52:58":        RuleZone,
		"2022-01-30T17:52:58.123":    RuleZone,
		"2022-01-30":                 RuleZone,
		"2022-01-30T17:52:58z":       RuleZone,
		"2022-13-30T17:52:58Z":       RuleSchema,
		"2022-01-30T17:52:58+15:00":  RuleSchema,
		"2022-01-30 17:52:58Z":       RuleSchema,
		"30/01/2022 17:52:58 +01:00": RuleSchema,
	} {
		if rule, _ := checkDateTime(s); rule != want {
			t.Errorf("checkDateTime(%q) rule %q, want %q", s, rule, want)
		}
	}
}

func TestCheckParticipant(t *testing.T) {
	for s, ok := range map[string]bool{
		"0203:malmo.se":                       true,
		"0007:2120001124":                     true,
		"0088:7300010000001":                  true,
		"0192:991825827":                      false, // Norwegian ICD: not SDK
		"203:malmo.se":                        false,
		"0203:":                               false,
		"malmo.se":                            false,
		"ABCD:malmo.se":                       false,
		"iso6523-actorid-upis::0203:malmo.se": false,
	} {
		if got := checkParticipant(s) == ""; got != ok {
			t.Errorf("checkParticipant(%q) ok = %v", s, got)
		}
	}
	if got := ParticipantICDs(); !slices.Equal(got, []string{"0203", "0007", "0088"}) {
		t.Errorf("ParticipantICDs = %v", got)
	}
}
