package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// WarningRepeat is how long a warning about one certificate is not logged again once
// logged: "revocation not checked" under revocation mode none, or a soft-failed check,
// would otherwise be logged for every message a partner sends. The revocation metrics
// still count every check.
const WarningRepeat = 10 * time.Minute

// maxWarnings bounds the limiter's memory; when full it forgets everything, which at
// worst logs a warning again early.
const maxWarnings = 4096

// WarnLimiter lets the same warning about the same certificate through once per
// WarningRepeat. The zero value is ready; it is safe for concurrent use.
type WarnLimiter struct {
	mu   sync.Mutex
	last map[warnKey]time.Time
}

type warnKey struct {
	cert    [sha256.Size]byte
	warning string
}

// Allow reports whether the warning about cert should be logged now.
func (l *WarnLimiter) Allow(cert *x509.Certificate, warning string, now time.Time) bool {
	var k warnKey
	if cert != nil {
		k.cert = sha256.Sum256(cert.Raw)
	}
	k.warning = warning
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[k]; ok && now.Sub(t) < WarningRepeat && !now.Before(t) {
		return false
	}
	if l.last == nil || len(l.last) >= maxWarnings {
		l.last = map[warnKey]time.Time{}
	}
	l.last[k] = now
	return true
}
