package xhe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, data []byte) *Envelope {
	t.Helper()
	e, err := Parse(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return e
}

func mustParseFile(t testing.TB, name string) *Envelope {
	t.Helper()
	return mustParse(t, readTestdata(t, name))
}

// expectation is one "expect: RULE PATH [HEADER]" line of a testdata comment.
type expectation struct{ rule, path, header string }

var expectRE = regexp.MustCompile(`(?m)^\s*expect: (\S+) (\S+)(?: (\S+))?\s*$`)

func expectations(t testing.TB, data []byte) []expectation {
	t.Helper()
	var out []expectation
	for _, m := range expectRE.FindAllSubmatch(data, -1) {
		out = append(out, expectation{string(m[1]), string(m[2]), string(m[3])})
	}
	if len(out) == 0 {
		t.Fatal("testdata file has no expect: line")
	}
	return out
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatalf("error %v (%T) is not an *xhe.Error", err, err)
	}
	return xe
}

// problemKeys returns the sorted, de-duplicated "rule path [header]" of the problems.
func problemKeys(ps []Problem, withPath bool) []string {
	var keys []string
	for _, p := range ps {
		k := p.Rule
		if withPath {
			k += " " + p.Path
		}
		if p.Header != "" {
			k += " " + p.Header
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

func expectationKeys(es []expectation) ([]string, bool) {
	withPath := true
	var keys []string
	for _, e := range es {
		k := e.rule
		if e.path == "-" {
			withPath = false
		} else {
			k += " " + e.path
		}
		if e.header != "" {
			k += " " + e.header
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Compact(keys), withPath
}

// minimalXML returns tf07-minimal.xml with the replacements old→new applied (each must hit).
func minimalXML(t testing.TB, pairs ...string) []byte {
	t.Helper()
	s := string(readTestdata(t, "tf07-minimal.xml"))
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("minimal envelope has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return []byte(s)
}

// sentMessage is the UserMessage an SDK access point sends for tf07-minimal.xml.
func sentMessage(t testing.TB) *ebms.UserMessage {
	t.Helper()
	h, err := mustParseFile(t, "tf07-minimal.xml").Derive()
	if err != nil {
		t.Fatal(err)
	}
	u := &ebms.UserMessage{
		PartyInfo: ebms.PartyInfo{
			From: ebms.Party{PartyIDs: []ebms.PartyID{{Value: "AP0040-SDK-QA", Type: "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap"}}, Role: ebms.RoleInitiator},
			To:   ebms.Party{PartyIDs: []ebms.PartyID{{Value: "AP0007-SDK-QA", Type: "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap"}}, Role: ebms.RoleResponder},
		},
		PayloadInfo: []ebms.PartInfo{{Href: "cid:message"}},
	}
	h.Apply(u)
	return u
}

// testingAllocBytes returns the bytes f allocates.
func testingAllocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
