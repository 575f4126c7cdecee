package pmode

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/as4gw/as4gw/internal/testutil"
)

func FuzzParseRetry(f *testing.F) {
	for _, s := range []string{"12;4;CONSTANT", "SEND_ONCE", "0;0;SEND_ONCE", "9;1;2;PROGRESSIVE",
		"10000000;1;10;PROGRESSIVE", "1;60000;CONSTANT", "52560000;60000;CONSTANT", " 1 ; 1 ; constant ", ";;", "12;4", "-1;+2;CONSTANT"} {
		f.Add(s)
	}
	first := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRetry(s)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRetry(%q) = %+v, which does not validate: %v", s, r, err)
		}
		again, err := ParseRetry(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip %q -> %q -> %+v, %v", s, r.String(), again, err)
		}
		// Due times never go backwards and never pass the timeout.
		deadline := first.Add(time.Duration(r.Timeout) * time.Minute)
		prev := first
		n := r.Retries()
		for i := 1; i <= n; i++ {
			if i > 50 && i < n-2 {
				i = n - 2 // the ends are what can go wrong
			}
			due, ok := r.NextAttempt(first, i)
			if !ok || due.Before(prev) || due.After(deadline) {
				t.Fatalf("%s: retry %d due %v (ok %v), previous %v, deadline %v", r, i, due, ok, prev, deadline)
			}
			prev = due
		}
		if _, ok := r.NextAttempt(first, n+1); ok {
			t.Fatalf("%s: attempt %d after %d retries", r, n+2, n)
		}
	})
}

func FuzzImportDomibus(f *testing.F) {
	f.Add([]byte(domibusDoc))
	f.Add([]byte(`<configuration party="a"><businessProcesses><parties><party name="a"><identifier partyId="x"/></party></parties></businessProcesses></configuration>`))
	f.Add([]byte(`<a b="<&x;">`))
	// The Domibus samples as seeds, when the shared vectors are beside the
	// checkout (TestImportDomibusSamples requires them in CI).
	dir := filepath.Join(testutil.RepoRoot(f), "..", "shared", "vectors", "domibus")
	for _, name := range []string{"domibus-gw-sample-pmode-blue.xml", "domibus-gw-sample-pmode-red.xml"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(data)
		}
	}
	msg := blueRedMessage("TC1Leg1")
	sub := Submission{Service: "bdx:noprocess", ServiceType: "tc1", Action: "TC1Leg1", ToPartyID: "domibus-red"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, party := range []string{"", "blue_gw"} {
			s, _, err := ImportDomibus(bytes.NewReader(data), party)
			if err != nil {
				continue
			}
			if s.Party(s.Self) == nil {
				t.Fatalf("imported set's self %q names no party", s.Self)
			}
			_ = s.Validate()
			_, _ = s.MatchInbound(msg)
			if l, err := s.MatchOutbound(sub); err == nil {
				_, _, _ = s.Responder(l, sub)
			}
			for i := range s.Legs {
				l := &s.Legs[i]
				_ = l.CheckPayloads(msg.PayloadInfo, map[string]int64{"cid:message": 1})
				_ = l.SecurityPolicy()
				_, _ = l.Reliability.Retry.NextAttempt(time.Now(), 1)
			}
		}
	})
}
