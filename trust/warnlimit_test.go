package trust

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestWarnLimiter(t *testing.T) {
	a := &x509.Certificate{Raw: []byte("certificate a")}
	b := &x509.Certificate{Raw: []byte("certificate b")}
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	var l WarnLimiter
	steps := []struct {
		cert    *x509.Certificate
		warning string
		at      time.Duration
		want    bool
	}{
		{a, "revocation not checked", 0, true},
		{a, "revocation not checked", time.Second, false},
		{a, "OCSP responder unreachable", time.Second, true}, // another warning
		{b, "revocation not checked", time.Second, true},     // another certificate
		{a, "revocation not checked", WarningRepeat - time.Second, false},
		{a, "revocation not checked", WarningRepeat, true},
		{a, "revocation not checked", WarningRepeat - time.Hour, true}, // clock went back: log
	}
	for i, s := range steps {
		if got := l.Allow(s.cert, s.warning, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: Allow = %v, want %v", i, got, s.want)
		}
	}
	// Bounded: filling it forgets, never grows past maxWarnings.
	for i := range maxWarnings + 10 {
		l.Allow(&x509.Certificate{Raw: []byte{byte(i), byte(i >> 8)}}, "w", t0)
	}
	if n := len(l.last); n > maxWarnings {
		t.Errorf("%d entries, want at most %d", n, maxWarnings)
	}
}
