package ebms

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	valid := []struct {
		in   string
		want time.Time
	}{
		{"2022-03-07T17:36:50.173Z", utc(2022, 3, 7, 17, 36, 50, 173000000)},
		{"2017-06-13T11:39:52.967", utc(2017, 6, 13, 11, 39, 52, 967000000)},            // no zone: UTC
		{"2006-07-25T12:19:05", utc(2006, 7, 25, 12, 19, 5, 0)},                         // no fraction, no zone
		{"2016-12-21T11:34:22.462+01:00", utc(2016, 12, 21, 10, 34, 22, 462000000)},     // offset
		{"2025-09-25T09:54:32.971659362+02:00", utc(2025, 9, 25, 7, 54, 32, 971659362)}, // 9 digits
		{"2018-07-02T05:32:10.1322382Z", utc(2018, 7, 2, 5, 32, 10, 132238200)},         // 7 digits (.NET)
		{"2018-07-02T05:32:10.12345678912345Z", utc(2018, 7, 2, 5, 32, 10, 123456789)},  // extra digits dropped
		{"2020-01-01T00:30:00-05:30", utc(2020, 1, 1, 6, 0, 0, 0)},                      // negative offset
		{"2024-02-29T23:59:59Z", utc(2024, 2, 29, 23, 59, 59, 0)},                       // leap day
		{"2024-01-01T00:00:00+14:00", utc(2023, 12, 31, 10, 0, 0, 0)},                   // largest offset
	}
	for _, v := range valid {
		got, err := ParseTimestamp(v.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", v.in, err)
			continue
		}
		if !got.Equal(v.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, want %v", v.in, got, v.want)
		}
	}
	for _, in := range []string{
		"", "2024-05-01", "2024-05-01 10:00:00Z", "2024-5-01T10:00:00Z", "2024-05-01T10:00Z",
		"2024-05-01T10:00:00.Z", "2024-05-01T10:00:00.1x", "2024-05-01T10:00:00+0100", "2024-05-01T10:00:00+15:00",
		"2024-05-01T10:00:00+01:60", "2024-13-01T10:00:00Z", "2024-00-01T10:00:00Z", "2023-02-29T10:00:00Z",
		"2024-05-32T10:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z", "2024-05-01T10:00:60Z",
		"0000-01-01T00:00:00Z", "-2024-05-01T10:00:00Z", "２０２４-05-01T10:00:00Z", "2024-05-01T10:00:00ZZ",
	} {
		if got, err := ParseTimestamp(in); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("", 2*3600))
	if got := FormatTimestamp(ts); got != "2024-05-01T10:00:00.123Z" {
		t.Errorf("FormatTimestamp = %s", got)
	}
}

func TestValidateMessageID(t *testing.T) {
	for _, id := range []string{
		"a1@sender.example", "17a7c374-efe3-41e2-ac0d-8a8f47529e47@phase4", "ph-as4@8e086db6-b26e-4c15-95c5-973f3bedbd96",
		"{{RefToMessageId}}@x", "a.b.c@d.e", "_x@nsoftware", `"quoted@left"@host`, `"a\"b"@host`, "x@[10.0.0.4]", "x@[a\\]b]",
	} {
		if err := ValidateMessageID(id); err != nil {
			t.Errorf("ValidateMessageID(%q): %v", id, err)
		}
	}
	for _, id := range []string{
		"", "no-at-sign", "@host", "left@", "a@b@c", "a..b@c", ".a@c", "a.@c", "a@b..c", "a b@c", "<a@b>",
		"a@UK:APUK01", `"with space"@host`, `"unterminated@host`, `"q"host`, "x@[unterminated", "x@[a]b", "ä@b", "a@b\n",
	} {
		if err := ValidateMessageID(id); err == nil {
			t.Errorf("ValidateMessageID(%q) succeeded, want an error", id)
		}
	}
}

func TestLenientMessageID(t *testing.T) {
	// Ids seen from real peers that the RFC 2822 syntax rejects but Decode accepts.
	for _, id := range []string{"49267c79-d822-45d9-aa91-c57b3ca508db", "user-55b50d25-5f75-4d2e-8d75-c4e7fe492169", "-Dom00302-", "b7346c9d-01a6-4dc1-9fa0-b3aff1d18061@UK:APUK01", "1234"} {
		if err := checkMessageIDLenient(id); err != nil {
			t.Errorf("lenient %q: %v", id, err)
		}
	}
	for _, id := range []string{"", "a b", "a\tb", "<a@b>", "a>b", "ä@b", "a\x7f"} {
		if err := checkMessageIDLenient(id); err == nil {
			t.Errorf("lenient %q accepted", id)
		}
	}
}

func TestCheckURIReference(t *testing.T) {
	for _, s := range []string{
		"urn:example:to", "org:holodeckb2b:example:company:A", "flame-c2", "APP_1000000101", "SRV_SIMPLE_ONEWAY",
		"http://example.com/a?b=c#d", "a/b:c", "./x:y", "%20x", "mailto:a@b", "x#frag",
	} {
		if err := checkURIReference(s); err != nil {
			t.Errorf("checkURIReference(%q): %v", s, err)
		}
	}
	for _, s := range []string{
		"", "0088:5798000000001", "9915:helger", "party two", "a<b", "a\"b", "a|b", "a^b", "%2", "%zz", "a#b#c", "ä", "a\\b", "-x:y",
	} {
		if err := checkURIReference(s); err == nil {
			t.Errorf("checkURIReference(%q) succeeded, want an error", s)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewMessageID("ap.example")
		if err := ValidateMessageID(id); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
	}
	if id := NewMessageID(""); !strings.HasSuffix(id, "@as4gw") {
		t.Errorf("default domain: %q", id)
	}
}
