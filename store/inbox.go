package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Listings by party: the inbox (RECEIVED, per recipient) and the participant index (every
// message, per From/To/OriginalSender/FinalRecipient). Both are keyed party|key; a query for
// several parties merges their ranges by key, i.e. in commit order, reading only the
// entries it returns (plus, for List, those its filters reject).

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// maxListScan bounds the index entries one List call examines, so a filter that
	// rejects almost everything cannot turn a page into a full scan.
	maxListScan = 10000
)

func pageSize(n int) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return n
}

// mergeCursor walks several party ranges of one index in key order.
type mergeCursor struct {
	heads []mergeHead
}

type mergeHead struct {
	prefix []byte
	c      *bolt.Cursor
	k, v   []byte
}

func newMergeCursor(b *bolt.Bucket, parties []PartyID, after Key) (*mergeCursor, error) {
	mc := &mergeCursor{}
	seen := map[string]bool{}
	for i, p := range parties {
		if err := checkParty(fmt.Sprintf("party %d", i), p, true); err != nil {
			return nil, err
		}
		pk := partyKey(p)
		if seen[pk] {
			continue
		}
		seen[pk] = true
		prefix := join([]byte(pk), sep)
		c := b.Cursor()
		k, v := c.Seek(join(prefix, msgKey(after+1)))
		h := mergeHead{prefix: prefix, c: c, k: k, v: v}
		if h.valid() {
			mc.heads = append(mc.heads, h)
		}
	}
	return mc, nil
}

func (h *mergeHead) valid() bool {
	return h.k != nil && bytes.HasPrefix(h.k, h.prefix) && len(h.k) == len(h.prefix)+8
}

// next returns the smallest key among the heads and advances past it; ok false at the end.
// A message listed under two of the parties (From and To both ours) comes once.
func (mc *mergeCursor) next() (k Key, v []byte, ok bool) {
	best := -1
	for i := range mc.heads {
		if best < 0 || keySuffix(mc.heads[i].k) < keySuffix(mc.heads[best].k) {
			best = i
		}
	}
	if best < 0 {
		return 0, nil, false
	}
	k, v = keySuffix(mc.heads[best].k), mc.heads[best].v
	live := mc.heads[:0]
	for _, h := range mc.heads {
		for h.valid() && keySuffix(h.k) <= k {
			h.k, h.v = h.c.Next()
		}
		if h.valid() {
			live = append(live, h)
		}
	}
	mc.heads = live
	return k, v, true
}

func (mc *mergeCursor) more() bool { return len(mc.heads) > 0 }

// Inbox lists RECEIVED messages for the recipients, oldest first (see Inbox.Inbox).
func (s *BoltStore) Inbox(ctx context.Context, q InboxQuery) ([]Message, Cursor, error) {
	if len(q.Recipients) == 0 {
		return nil, "", fmt.Errorf("%w: inbox query names no recipient", ErrInvalid)
	}
	after, err := parseCursor(q.After)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(q.Limit)
	var out []Message
	var next Cursor
	err = s.view(ctx, func(tx *bolt.Tx) error {
		mc, err := newMergeCursor(tx.Bucket(bInbox), q.Recipients, after)
		if err != nil {
			return err
		}
		for len(out) < limit {
			k, _, ok := mc.next()
			if !ok {
				break
			}
			m, err := loadMessage(tx, k)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		if mc.more() && len(out) > 0 {
			next = cursorOf(out[len(out)-1].Key)
		}
		return nil
	})
	return out, next, err
}

// List returns messages with any of the parties, oldest first (see Messages.List). A page
// may hold fewer than Limit messages while the cursor is not empty: the filters rejected
// what was examined; call again with the cursor.
func (s *BoltStore) List(ctx context.Context, q ListQuery) ([]Message, Cursor, error) {
	if len(q.Parties) == 0 {
		return nil, "", fmt.Errorf("%w: list query names no party", ErrInvalid)
	}
	if q.Direction != "" && q.Direction != Inbound && q.Direction != Outbound {
		return nil, "", fmt.Errorf("%w: direction %q", ErrInvalid, q.Direction)
	}
	after, err := parseCursor(q.After)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(q.Limit)
	states := map[State]bool{}
	for _, st := range q.States {
		states[st] = true
	}
	var out []Message
	var next Cursor
	err = s.view(ctx, func(tx *bolt.Tx) error {
		mc, err := newMergeCursor(tx.Bucket(bParty), q.Parties, after)
		if err != nil {
			return err
		}
		var last Key
		for scanned := 0; len(out) < limit && scanned < maxListScan; scanned++ {
			k, v, ok := mc.next()
			if !ok {
				break
			}
			last = k
			// The index value is the direction's first letter: filter before decoding.
			if q.Direction != "" && (len(v) != 1 || v[0] != q.Direction[0]) {
				continue
			}
			m, err := loadMessage(tx, k)
			if err != nil {
				return err
			}
			if len(states) > 0 && !states[m.State] {
				continue
			}
			out = append(out, *m)
		}
		if mc.more() && last > 0 {
			next = cursorOf(last)
		}
		return nil
	})
	return out, next, err
}
