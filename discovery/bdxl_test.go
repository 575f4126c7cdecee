package discovery

import (
	"errors"
	"testing"

	"github.com/miekg/dns"
)

func TestApplyNAPTRRegexp(t *testing.T) {
	tests := []struct {
		field, aus, want string
		wantErr          bool
	}{
		{"!^.*$!https://smp.example/!", "abc.iso6523-actorid-upis.sdk.test", "https://smp.example/", false},
		{"!^.*$!http://smp.example:8080/path!", "x", "http://smp.example:8080/path", false},
		{`!^([a-z0-9]+)\.(.*)$!https://\1.smp.example/\2!`, "abc.zone", "https://abc.smp.example/zone", false},
		{"!^ABC$!https://x/!i", "abc", "https://x/", false},
		{`#^.*$#https://x/\#y#`, "a", "https://x/#y", false},
		{`!abc!X!`, "zzabczz", "zzXzz", false},
		{"!^.*$!https://smp.example/", "x", "", true}, // missing final delimiter
		{"!^x$!y!", "z", "", true},                    // no match
		{"!(!y!", "z", "", true},                      // bad ERE
		{"!^.*$!y!q", "z", "", true},                  // unknown flag
		{`!^.*$!\2!`, "z", "", true},                  // back-reference without group
		{"", "z", "", true},
		{`\a\b\c\`, "z", "", true},
	}
	for _, tc := range tests {
		got, err := ApplyNAPTRRegexp(tc.field, tc.aus)
		if (err != nil) != tc.wantErr {
			t.Errorf("ApplyNAPTRRegexp(%q, %q) error = %v, want error %v", tc.field, tc.aus, err, tc.wantErr)
			continue
		}
		if got != tc.want {
			t.Errorf("ApplyNAPTRRegexp(%q, %q) = %q, want %q", tc.field, tc.aus, got, tc.want)
		}
	}
}

func naptr(order, pref uint16, flags, service, re string) *dns.NAPTR {
	return &dns.NAPTR{Hdr: dns.RR_Header{Name: "n.", Rrtype: dns.TypeNAPTR, Class: dns.ClassINET},
		Order: order, Preference: pref, Flags: flags, Service: service, Regexp: re, Replacement: "."}
}

func TestPickNAPTR(t *testing.T) {
	s := &SML{zone: "z"}
	tests := []struct {
		name     string
		rrs      []dns.RR
		want     string
		wantKind Kind
	}{
		{"lowest order then preference", []dns.RR{
			naptr(20, 1, "U", "Meta:SMP", "!^.*$!https://late/!"),
			naptr(10, 9, "U", "Meta:SMP", "!^.*$!https://second/!"),
			naptr(10, 1, "u", "meta:smp", "!^.*$!https://first/!"),
		}, "https://first/", 0},
		{"other services and flags ignored", []dns.RR{
			naptr(1, 1, "U", "Meta:SMP2", "!^.*$!https://no/!"),
			naptr(1, 1, "", "Meta:SMP", "!^.*$!https://no/!"),
			naptr(5, 1, "U", "Meta:SMP", "!^.*$!https://yes/!"),
		}, "https://yes/", 0},
		{"bad record skipped", []dns.RR{
			naptr(1, 1, "U", "Meta:SMP", "!^.*$!ftp://no/!"),
			naptr(2, 1, "U", "Meta:SMP", "!^.*$!https://yes/!"),
		}, "https://yes/", 0},
		{"none usable", []dns.RR{naptr(1, 1, "U", "Meta:SMP", "!^.*$!mailto:x!")}, "", KindBadResponse},
		{"no Meta:SMP", []dns.RR{naptr(1, 1, "U", "E2U+sip", "!^.*$!sip:x!")}, "", KindNotRegistered},
		{"empty", nil, "", KindNotRegistered},
	}
	for _, tc := range tests {
		got, err := s.pick("n", tc.rrs)
		var le *LookupError
		switch {
		case tc.wantKind == 0 && (err != nil || got != tc.want):
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.wantKind != 0 && (!errors.As(err, &le) || le.Kind != tc.wantKind):
			t.Errorf("%s: error %v, want kind %s", tc.name, err, tc.wantKind)
		}
	}
}

func TestNewSMLConfig(t *testing.T) {
	for _, cfg := range []SMLConfig{{}, {Zone: "bad zone..x"}, {Zone: "z.test", Servers: []string{"127.0.0.1"}}} {
		if _, err := NewSML(cfg); err == nil {
			t.Errorf("NewSML(%+v) accepted", cfg)
		}
	}
	if s, err := NewSML(SMLConfig{Zone: "sdk.test.", Servers: []string{"127.0.0.1:53"}}); err != nil || s.Zone() != "sdk.test" {
		t.Errorf("NewSML: %v", err)
	}
}

func FuzzNAPTRRegexp(f *testing.F) {
	f.Add("!^.*$!https://smp.example/!", "abc.zone")
	f.Add(`!^([a-z]+)\.(.*)$!https://\1/\2!i`, "ABC.zone")
	f.Add(`#a\#b#c\\d#`, "a#b")
	f.Fuzz(func(t *testing.T, field, aus string) {
		out, err := ApplyNAPTRRegexp(field, aus)
		if err == nil && len(out) > len(aus)*(len(field)+1)+len(field) {
			t.Fatalf("output %d bytes from %d+%d", len(out), len(field), len(aus))
		}
	})
}
