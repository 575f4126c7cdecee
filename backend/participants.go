package backend

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/as4gw/as4gw/store"
)

// DefaultParticipantType is the type a participant id written without one gets: the
// ISO 6523 scheme of PEPPOL/SDK participant identifiers ("0203:malmo.se").
const DefaultParticipantType = "iso6523-actorid-upis"

// typeSeparator separates scheme and value in "iso6523-actorid-upis::0203:malmo.se",
// the busdox notation.
const typeSeparator = "::"

// maxParticipantLen bounds a participant id's type and value (the store allows 512).
const maxParticipantLen = 255

// ParseParticipant reads a participant id as written in configuration: "scheme::value"
// (split at the first "::") or a bare value, which gets DefaultParticipantType. Both
// parts must be non-empty, at most 255 bytes, valid UTF-8, without spaces or control
// characters.
func ParseParticipant(s string) (store.PartyID, error) {
	return participant(s, "")
}

// participant combines a value and an optional explicit type: an explicit type wins,
// else a "scheme::" prefix of the value, else DefaultParticipantType.
func participant(value, typ string) (store.PartyID, error) {
	p := store.PartyID{ID: value, Type: typ}
	if typ != "" && strings.Contains(value, typeSeparator) {
		return store.PartyID{}, fmt.Errorf("%q carries a scheme (%q) while a type %q is given as well: give one or the other", value, typeSeparator, typ)
	}
	if typ == "" {
		if t, v, ok := strings.Cut(value, typeSeparator); ok {
			p = store.PartyID{Type: t, ID: v}
			if t == "" {
				return store.PartyID{}, fmt.Errorf("%q has an empty scheme before %q", value, typeSeparator)
			}
		} else {
			p.Type = DefaultParticipantType
		}
	}
	if err := checkParticipantPart("value", p.ID); err != nil {
		return store.PartyID{}, err
	}
	if err := checkParticipantPart("type", p.Type); err != nil {
		return store.PartyID{}, err
	}
	return p, nil
}

func checkParticipantPart(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("the participant %s is empty", what)
	case len(s) > maxParticipantLen:
		return fmt.Errorf("the participant %s is %d bytes long, at most %d allowed", what, len(s), maxParticipantLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("the participant %s is not valid UTF-8", what)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("the participant %s %q contains a space or control character at byte %d", what, s, i)
		}
	}
	return nil
}

// scope is what one client may act for and see.
type scope struct {
	// own are the client's participants as configured (typed): originalSender must be one.
	own map[store.PartyID]bool
	// match are the ids that select messages for it: own plus, for each participant of
	// the default type, the same value without a type (SDK accepts an untyped
	// finalRecipient on received messages, and the MSH stores it as received).
	match []store.PartyID
	set   map[store.PartyID]bool
}

func newScope(parts []store.PartyID) scope {
	s := scope{own: map[store.PartyID]bool{}, set: map[store.PartyID]bool{}}
	add := func(p store.PartyID) {
		if !s.set[p] {
			s.set[p] = true
			s.match = append(s.match, p)
		}
	}
	for _, p := range parts {
		s.own[p] = true
		add(p)
	}
	for _, p := range parts {
		if p.Type == DefaultParticipantType {
			add(store.PartyID{ID: p.ID})
		}
	}
	return s
}

// visible reports whether the client may see m: outbound when it sent it (originalSender),
// inbound when it is the recipient (finalRecipient, else To).
func (s *scope) visible(m *store.Message) bool { return s.sees(m.Viewer()) }

func (s *scope) sees(viewer store.PartyID) bool { return !viewer.IsZero() && s.set[viewer] }
