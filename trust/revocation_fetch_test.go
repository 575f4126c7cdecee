package trust

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTTLCacheBound(t *testing.T) {
	c := ttlCache[int]{max: 10}
	now := time.Now()
	for i := range 25 {
		c.put(fmt.Sprint(i), i, now.Add(time.Minute), now)
	}
	if n := len(c.entries); n > 10 {
		t.Errorf("%d entries, bound 10", n)
	}
	if v, ok := c.get("24", now); !ok || v != 24 {
		t.Error("latest entry missing")
	}
	if _, ok := c.get("24", now.Add(time.Minute)); ok {
		t.Error("entry returned at its expiry")
	}
	if _, ok := c.peek("24"); !ok {
		t.Error("peek does not return an expired entry")
	}
}

func TestRevocationSourceError(t *testing.T) {
	err := error(&RevocationSourceError{Method: "OCSP", URL: "http://ocsp.example", Failure: FailureTimeout, Err: errors.New("deadline")})
	if got := err.Error(); got != "trust: OCSP responder http://ocsp.example: timeout: deadline" {
		t.Errorf("message %q", got)
	}
	if !errors.Is(err, FailureTimeout) || errors.Is(err, FailureStale) {
		t.Error("errors.Is does not match the failure kind")
	}
	joined := joinErrors([]error{err, &RevocationSourceError{Method: "CRL", URL: "http://crl.example/ca.crl", Failure: FailureStale}})
	if !errors.Is(joined, FailureStale) || !errors.Is(joined, FailureTimeout) || strings.Contains(joined.Error(), "\n") {
		t.Errorf("joined: %v", joined)
	}
	for f := FailureNoSource; f <= FailureStatusUnknown; f++ {
		if strings.HasPrefix(f.String(), "RevocationFailure(") {
			t.Errorf("failure %d has no name", int(f))
		}
	}
}

func TestEffectiveRevocation(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		revokedAt time.Time
		reason    RevocationReason
		want      bool
	}{
		{at.Add(-time.Hour), ReasonSuperseded, true},
		{at, ReasonSuperseded, true},
		{at.Add(time.Hour), ReasonSuperseded, false},
		{at.Add(time.Hour), ReasonCessationOfOperation, false},
		{at.Add(time.Hour), ReasonKeyCompromise, true},
		{at.Add(time.Hour), ReasonCACompromise, true},
		{time.Time{}, ReasonUnspecified, true},
	} {
		if got := effectiveRevocation(tc.revokedAt, tc.reason, at); got != tc.want {
			t.Errorf("revoked %v (%v), validated %v: %v, want %v", tc.revokedAt, tc.reason, at, got, tc.want)
		}
	}
}
