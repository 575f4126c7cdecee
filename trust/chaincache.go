package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"
)

// chainCache remembers the chains x509.Verify found for a certificate (with
// the intermediates it came with), so that a partner signing every message
// with the same certificate does not cost a chain build per message
// (~0.2 ms of CPU each on the machines measured, on both sides of every
// exchange). Only the chain building is reused: key usage and revocation are
// checked on every call, and a cached chain is used only at a time within
// the validity of every certificate in it (otherwise the chains are built
// again, which reports the expiry). Entries are keyed by the store's change
// counter, so a change to the anchors or intermediates starts afresh.
type chainCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte][][]*x509.Certificate
}

// maxCachedChains bounds the cache; when full it is emptied (partners
// number in the tens, so this only guards against a flood of certificates).
const maxCachedChains = 1024

func chainKey(gen uint64, cert *x509.Certificate, intermediates []*x509.Certificate, ekus []x509.ExtKeyUsage) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], gen)
	h.Write(n[:])
	writeDER := func(der []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(der)))
		h.Write(n[:])
		h.Write(der)
	}
	writeDER(cert.Raw)
	for _, c := range intermediates {
		if c != nil {
			writeDER(c.Raw)
		}
	}
	for _, e := range ekus {
		binary.BigEndian.PutUint64(n[:], uint64(e))
		h.Write(n[:])
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// get returns the cached chains that are valid at at, nil when there are
// none.
func (c *chainCache) get(key [sha256.Size]byte, at time.Time) [][]*x509.Certificate {
	c.mu.Lock()
	chains := c.entries[key]
	c.mu.Unlock()
	var valid [][]*x509.Certificate
	for _, chain := range chains {
		ok := true
		for _, cert := range chain {
			if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
				ok = false
				break
			}
		}
		if ok {
			valid = append(valid, chain)
		}
	}
	if len(valid) != len(chains) {
		return nil // some chain expired meanwhile: build again, as x509 would
	}
	return valid
}

func (c *chainCache) put(key [sha256.Size]byte, chains [][]*x509.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedChains {
		c.entries = map[[sha256.Size]byte][][]*x509.Certificate{}
	}
	c.entries[key] = chains
}
