package discovery

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"
)

// CacheConfig bounds the lookup cache. SMP data changes rarely, but a
// recipient that moves access point or renews its certificate must be
// picked up within hours, and a newly registered one within minutes.
type CacheConfig struct {
	// TTL keeps a successful lookup; 0 means 1 h, negative disables
	// caching of successes. An entry never outlives the endpoint's
	// ServiceExpirationDate or its certificate.
	TTL time.Duration
	// NegativeTTL keeps "not registered", "document type not supported"
	// and "no endpoint" answers; 0 means 5 min, negative disables. Network
	// failures and bad signatures are never cached, so a repair is seen at
	// the next attempt.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache (least recently used evicted first); 0
	// means 10,000.
	MaxEntries int
}

func (c CacheConfig) withDefaults() CacheConfig {
	if c.TTL == 0 {
		c.TTL = time.Hour
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = 5 * time.Minute
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
	return c
}

type cacheKey struct{ participant, doc, process string }

func keyOf(participant, doc, process Identifier) cacheKey {
	// Participants compare case-insensitively (the SML hashes the
	// lower-cased value); document and process values do not.
	return cacheKey{
		participant: strings.ToLower(participant.String()),
		doc:         strings.ToLower(doc.Scheme) + "::" + doc.Value,
		process:     strings.ToLower(process.Scheme) + "::" + process.Value,
	}
}

type cacheEntry struct {
	key     cacheKey
	ep      *Endpoint
	err     *LookupError
	expires time.Time
}

// lruCache is a mutex-guarded LRU with per-entry expiry.
type lruCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[cacheKey]*list.Element
}

func newLRU(max int) *lruCache {
	return &lruCache{max: max, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *lruCache) get(k cacheKey, now time.Time) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, k)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e, true
}

func (c *lruCache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[e.key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

func (c *lruCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// purge drops every entry (after a configuration or trust store change).
func (c *lruCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.items)
}

// flight collapses concurrent lookups of one key into one: a burst of
// messages to a new recipient makes one SML query and one SMP fetch.
type flight struct {
	mu    sync.Mutex
	calls map[cacheKey]*flightCall
}

type flightCall struct {
	done chan struct{}
	ep   *Endpoint
	err  error
}

func (f *flight) do(ctx context.Context, k cacheKey, fn func() (*Endpoint, error)) (*Endpoint, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[cacheKey]*flightCall)
	}
	if c, ok := f.calls[k]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.ep, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[k] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, k)
		f.mu.Unlock()
		close(c.done)
	}()
	c.ep, c.err = fn()
	return c.ep, c.err
}
