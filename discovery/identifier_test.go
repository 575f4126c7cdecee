package discovery

import (
	"strings"
	"testing"
)

// Vectors from phax/peppol-commons BDXLURLProviderTest (eDelivery BDXL
// hostnames); the SDK examples use the same rule.
func TestBDXLName(t *testing.T) {
	const ec = "edelivery.tech.ec.europa.eu"
	tests := []struct {
		id   Identifier
		zone string
		want string
	}{
		{Identifier{"iso6523-actorid-upis", "0088:123abc"}, ec, "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq.iso6523-actorid-upis." + ec},
		{Identifier{"iso6523-actorid-upis", "0088:123ABC"}, ec, "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq.iso6523-actorid-upis." + ec},
		{Identifier{"iso6523-actorid-upis", "9999:elonia"}, ec, "hsh3fmc5cyerdv5j6ln6mmqcn2pp2ucyvczrwueahosobvikb6kq.iso6523-actorid-upis." + ec},
		{Identifier{"iso6523-actorid-upis", "0010:5798000000001"}, ec, "xukhfqabqziki3ykvr2fhr4snfa3pf5vpq6k4tonv3lmvsy5arvq.iso6523-actorid-upis." + ec},
		{Identifier{"iso6523-actorid-upis", "9915:ToopTest"}, "toop.acc.edelivery.tech.ec.europa.eu.", "ba6jo7lwby53j47um53xpfz6fzrtk7lhjjtb32dv5a74ifcoegwq.iso6523-actorid-upis.toop.acc.edelivery.tech.ec.europa.eu"},
		{Identifier{"iso6523-actorid-upis", "9946:pt501507930"}, "de4a.edelivery.tech.ec.europa.eu.", "m2v5cjbjvuyeukpuegc4f3dpebbcjzi3pbxfegruqk3r3j42x5vq.iso6523-actorid-upis.de4a.edelivery.tech.ec.europa.eu"},
		{Identifier{"", "abc"}, ec, "xj4bnp4pahh6uqkbidpf3lrceoyagyndsylxvhfucd7wd4qacwwq." + ec},
		{Identifier{"", "urn:oasis:names:tc:ebcore:partyid-type:iso6523:0060:1234567890128"}, ec, "4444wypixhstjggabkb7qmg63kjnr7ifmxralgpordxi6zf64hua." + ec},
	}
	for _, tc := range tests {
		if got := BDXLName(tc.id, tc.zone); got != tc.want {
			t.Errorf("BDXLName(%s, %s) = %s, want %s", tc.id, tc.zone, got, tc.want)
		}
	}
}

func TestParseIdentifier(t *testing.T) {
	tests := []struct {
		in      string
		want    Identifier
		wantErr bool
	}{
		{"iso6523-actorid-upis::0203:malmo.se", Identifier{"iso6523-actorid-upis", "0203:malmo.se"}, false},
		{"busdox-docid-qns::urn:riv:x::messagePayload##3.0::tm-base-ext-sigenc",
			Identifier{"busdox-docid-qns", "urn:riv:x::messagePayload##3.0::tm-base-ext-sigenc"}, false},
		{"0203:malmo.se", Identifier{}, true},
		{"::value", Identifier{}, true},
		{"scheme::", Identifier{}, true},
		{"s::v\nx", Identifier{}, true},
	}
	for _, tc := range tests {
		got, err := ParseIdentifier(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseIdentifier(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && got != tc.want {
			t.Errorf("ParseIdentifier(%q) = %#v", tc.in, got)
		}
	}
}

func TestSMPURLs(t *testing.T) {
	p := Identifier{"iso6523-actorid-upis", "0203:malmo.se"}
	d := Identifier{"busdox-docid-qns", "urn:riv:a:b::messagePayload##3.0::tm-base-ext-sigenc"}
	if got, want := ServiceGroupURL("https://smp.example/", p), "https://smp.example/iso6523-actorid-upis%3A%3A0203%3Amalmo.se"; got != want {
		t.Errorf("ServiceGroupURL = %s, want %s", got, want)
	}
	got := ServiceMetadataURL("https://smp.example/base", p, d)
	want := "https://smp.example/base/iso6523-actorid-upis%3A%3A0203%3Amalmo.se/services/busdox-docid-qns%3A%3Aurn%3Ariv%3Aa%3Ab%3A%3AmessagePayload%23%233.0%3A%3Atm-base-ext-sigenc"
	if got != want {
		t.Errorf("ServiceMetadataURL = %s\nwant %s", got, want)
	}
	if back, ok := docTypeFromHref(got); !ok || back != d {
		t.Errorf("docTypeFromHref round trip = %v %v", back, ok)
	}
	if strings.ContainsAny(escapeSegment("a/b c#d?e%"), "/ #?") {
		t.Error("escapeSegment left a reserved character")
	}
}
