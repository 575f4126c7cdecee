package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Bucket layout (all integers big-endian so byte order is numeric order; "|" is
// concatenation, 0x00 a separator that key strings cannot contain, see checkKeyString):
//
//	meta    "version"                         → "3" (SchemaVersion)
//	        "payload_files", "payload_bytes"  → uint64   (for Stats)
//	        "inline_payloads", "inline_payload_bytes" → uint64 (for Stats)
//	        "state/<STATE>"                   → uint64   messages per state
//	msg     key(8)                            → JSON Message
//	outid   messageId                         → key(8)   outbound MessageIds are unique
//	indup   messageId|0x00|party(From)        → key(8)   the inbound duplicate index
//	due     partner|0x00|due(8)|key(8)        → nil      queued outbound, per partner by due time
//	dueq    partner                           → uint64   queued count, for Queues and ClaimDue
//	lease   until(8)|key(8)                   → nil      SEND_IN_PROGRESS by lease expiry
//	inbox   party(recipient)|0x00|key(8)      → nil      RECEIVED not yet downloaded
//	party   party|0x00|key(8)                 → dir(1)   participant → messages
//	hist    key(8)|seq(8)                     → JSON Event (a message's history)
//	events  seq(8)                            → JSON Event (the change log)
//	blobs   ref                               → key(8)   committed payload blobs (files and inline)
//	inline  ref|chunk(2)                      → piece of 0x00|bytes  inline payloads (inline.go)
//	webhooks id(8)                            → JSON Webhook (registrations, cursors; webhooks.go)
//	retain  kind|state|0x00|owner|0x00|t(8)|key(8) → nil  final-state messages by entry time (retention_index.go)
//
// Every lookup the MSH makes per message (duplicate check, get, claim, inbox page) is a
// B+tree seek: O(log n) in the number of messages, never a scan.
var (
	bMeta   = []byte("meta")
	bMsg    = []byte("msg")
	bOutID  = []byte("outid")
	bInDup  = []byte("indup")
	bDue    = []byte("due")
	bDueQ   = []byte("dueq")
	bLease  = []byte("lease")
	bInbox  = []byte("inbox")
	bParty  = []byte("party")
	bHist   = []byte("hist")
	bEvents = []byte("events")
	bBlobs  = []byte("blobs")

	allBuckets = [][]byte{bMeta, bMsg, bOutID, bInDup, bDue, bDueQ, bLease, bInbox, bParty, bHist, bEvents, bBlobs, bWebhooks,
		bAudit, bAuditP, bAuditM, bAuditC, // audit buckets: see audit.go
		bRetain, // retention index: see retention_index.go
		bInline} // inline payloads: see inline.go

	kVersion      = []byte("version")
	kPayloadFiles = []byte("payload_files")
	kPayloadBytes = []byte("payload_bytes")
)

// SchemaVersion is the layout above. OpenBolt refuses a database with a newer version and
// upgrades an older one (migrate.go). 2: the retention index is filled for the messages of
// a version 1 database (a version 1 binary would not keep it up to date). 3: payloads up to
// Options.InlinePayloadBytes live in the inline bucket, which an older binary would not read.
const SchemaVersion = 3

const (
	maxIDLen    = 1024 // MessageId, ConversationId, ...: Domibus caps at 255; bbolt keys at 32 KiB
	maxPartyLen = 512
)

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// timeKey orders times as unsigned integers; times before 1970 (never used) sort first.
func timeKey(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var sep = []byte{0}

// partyKey is the index form of a party id. 0x1f cannot occur in either part.
func partyKey(p PartyID) string {
	if p.Type == "" {
		return p.ID
	}
	return p.Type + "\x1f" + p.ID
}

func msgKey(k Key) []byte { return u64(uint64(k)) }

func inDupKey(messageID string, from PartyID) []byte {
	return join([]byte(messageID), sep, []byte(partyKey(from)))
}

func dueKey(partner string, due time.Time, k Key) []byte {
	return join([]byte(partner), sep, u64(timeKey(due)), msgKey(k))
}

func leaseKey(until time.Time, k Key) []byte { return join(u64(timeKey(until)), msgKey(k)) }

func partyIndexKey(p PartyID, k Key) []byte {
	return join([]byte(partyKey(p)), sep, msgKey(k))
}

func histKey(k Key, seq uint64) []byte { return join(msgKey(k), u64(seq)) }

func stateCountKey(s State) []byte { return []byte("state/" + string(s)) }

// keySuffix returns the trailing message key of an index key.
func keySuffix(b []byte) Key {
	if len(b) < 8 {
		return 0
	}
	return Key(binary.BigEndian.Uint64(b[len(b)-8:]))
}

// splitDueKey takes apart partner|0x00|due(8)|key(8).
func splitDueKey(b []byte) (partner string, due uint64, k Key, ok bool) {
	if len(b) < 17 {
		return "", 0, 0, false
	}
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b)-i-1 != 16 {
		return "", 0, 0, false
	}
	return string(b[:i]), binary.BigEndian.Uint64(b[i+1 : i+9]), keySuffix(b), true
}

// checkKeyString guards strings that become index keys: non-empty where required, valid
// UTF-8, bounded, and free of control characters, which makes 0x00 and 0x1f safe
// separators. ebMS values come from XML, which cannot carry most C0 characters anyway.
func checkKeyString(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
		}
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s is %d bytes, at most %d allowed", ErrInvalid, field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return fmt.Errorf("%w: %s contains control character %q at byte %d", ErrInvalid, field, s[i], i)
		}
	}
	return nil
}

func checkParty(field string, p PartyID, required bool) error {
	if p.IsZero() && !required {
		return nil
	}
	if err := checkKeyString(field+".id", p.ID, maxPartyLen, true); err != nil {
		return err
	}
	return checkKeyString(field+".type", p.Type, maxPartyLen, false)
}

// Cursors are the key of the last message returned, in decimal: keys increase in commit
// order, so paging by key never skips a message committed while a client pages (a time
// cursor would, when the clock steps back).
func cursorOf(k Key) Cursor { return Cursor("k" + strconv.FormatUint(uint64(k), 10)) }

func parseCursor(c Cursor) (Key, error) {
	if c == "" {
		return 0, nil
	}
	if len(c) < 2 || c[0] != 'k' {
		return 0, fmt.Errorf("%w: malformed cursor %q", ErrInvalid, c)
	}
	v, err := strconv.ParseUint(string(c[1:]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed cursor %q", ErrInvalid, c)
	}
	return Key(v), nil
}
