package discovery

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLRU(2)
	k := func(s string) cacheKey { return cacheKey{participant: s} }
	c.put(&cacheEntry{key: k("a"), ep: &Endpoint{URL: "a"}, expires: now.Add(time.Minute)})
	c.put(&cacheEntry{key: k("b"), ep: &Endpoint{URL: "b"}, expires: now.Add(time.Minute)})
	if _, ok := c.get(k("a"), now); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	c.put(&cacheEntry{key: k("c"), ep: &Endpoint{URL: "c"}, expires: now.Add(time.Minute)})
	if _, ok := c.get(k("b"), now); ok {
		t.Error("b should have been evicted as least recently used")
	}
	if _, ok := c.get(k("a"), now.Add(time.Minute)); ok {
		t.Error("a should have expired")
	}
	if c.len() != 1 {
		t.Errorf("len %d", c.len())
	}
	c.purge()
	if c.len() != 0 {
		t.Error("purge")
	}
}

func TestKeyOfCase(t *testing.T) {
	a := keyOf(Identifier{"iso6523-actorid-upis", "0203:Malmo.se"}, Identifier{"BUSDOX-docid-qns", "urn:X"}, Identifier{"s", "p"})
	b := keyOf(Identifier{"ISO6523-actorid-upis", "0203:malmo.SE"}, Identifier{"busdox-docid-qns", "urn:X"}, Identifier{"S", "p"})
	c := keyOf(Identifier{"iso6523-actorid-upis", "0203:malmo.se"}, Identifier{"busdox-docid-qns", "urn:x"}, Identifier{"s", "p"})
	if a != b || a == c {
		t.Errorf("participant case must not matter, document value case must: %v %v %v", a, b, c)
	}
}
