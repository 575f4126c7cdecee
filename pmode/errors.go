package pmode

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/as4gw/as4gw/ebms"
)

// Mismatch is one field of a message that a leg does not accept.
type Mismatch struct {
	// Field names the message field: "to party", "from party", "from role",
	// "to role", "service", "service type", "action", "agreementRef", "mpc",
	// or "direction" when this access point does not send (or receive) on the leg.
	Field string
	// Got is what the message carries and Want what the leg expects, both
	// ready to print.
	Got, Want string
}

func (m Mismatch) String() string { return m.Field + " is " + m.Got + ", expects " + m.Want }

// LegMismatches is one candidate leg with every field that ruled it out.
type LegMismatches struct {
	Leg        string
	Mismatches []Mismatch
}

func (c LegMismatches) String() string {
	parts := make([]string, len(c.Mismatches))
	for i, m := range c.Mismatches {
		parts[i] = m.String()
	}
	return fmt.Sprintf("leg %q: %s", c.Leg, strings.Join(parts, ", "))
}

// maxClosest caps how many candidate legs an error lists.
const maxClosest = 3

// MatchError says why no leg (or more than one) matched a message. For
// inbound messages Code is the EBMS error to answer with; for submissions it
// is informative (the backend reports the text).
type MatchError struct {
	Code    ebms.Code
	Inbound bool
	// Message summarises what was matched (parties, service, action).
	Message string
	// Reason is set for failures that do not depend on a leg (the To party is
	// not this access point, the set has no legs for this direction).
	Reason string
	// Closest are the legs with the fewest mismatches, in set order; More
	// counts the equally close legs left out.
	Closest []LegMismatches
	More    int
	// Ambiguous names the legs that matched equally well.
	Ambiguous []string
}

func (e *MatchError) Error() string {
	dir := "submission"
	if e.Inbound {
		dir = "inbound message"
	}
	var b strings.Builder
	b.WriteString("pmode: ")
	if e.Inbound {
		// The code matters only for the eb:Error answered to the sender.
		fmt.Fprintf(&b, "%s %s: ", e.Code, e.Code.ShortDescription())
	}
	switch {
	case len(e.Ambiguous) > 0:
		fmt.Fprintf(&b, "%s %s matches legs %s equally well; make the legs differ (parties, AgreementRef, service or action)",
			dir, e.Message, quoteList(e.Ambiguous))
		return b.String()
	default:
		fmt.Fprintf(&b, "no P-Mode leg matches %s %s", dir, e.Message)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	for i, c := range e.Closest {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more legs as close", e.More)
	}
	return b.String()
}

// EBMSCode returns the code the MSH answers with (the MSH's failure mapping
// recognises this method).
func (e *MatchError) EBMSCode() ebms.Code { return e.Code }

// SignalError builds the eb:Error to return for an inbound message.
func (e *MatchError) SignalError(refToMessageInError string) ebms.Error {
	return e.Code.NewError(refToMessageInError, e.Error())
}

// ProfileError is a message that matched a leg but breaks its rules: message
// properties or payload profile.
type ProfileError struct {
	Code ebms.Code
	Leg  string
	// Field is e.g. "message property \"finalRecipient\"" or "payload \"cid:message\"".
	Field  string
	Detail string
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("pmode: %s %s: leg %q: %s %s", e.Code, e.Code.ShortDescription(), e.Leg, e.Field, e.Detail)
}

// EBMSCode returns the code the MSH answers with.
func (e *ProfileError) EBMSCode() ebms.Code { return e.Code }

// SignalError builds the eb:Error to return for an inbound message.
func (e *ProfileError) SignalError(refToMessageInError string) ebms.Error {
	return e.Code.NewError(refToMessageInError, e.Error())
}

// show prints a value for an error: quoted, or "none" when empty.
func show(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("%q", s)
}

// showWant prints an expected value, noting a difference only in case, the
// classic copy-paste mistake in action strings.
func showWant(got, want string) string {
	switch {
	case got == want:
	case strings.EqualFold(got, want):
		return show(want) + " (differs only in case)"
	default:
		// Long identifiers (busdox action strings) are hard to compare by eye:
		// point at the first difference when they share a real prefix.
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		for n > 0 && n < len(want) && !utf8.RuneStart(want[n]) {
			n-- // never split a character
		}
		if n >= 8 {
			from := max(0, n-24)
			for from < n && !utf8.RuneStart(want[from]) {
				from++
			}
			return fmt.Sprintf("%s (first difference at character %d, after %q)", show(want), utf8.RuneCountInString(want[:n])+1, want[from:n])
		}
	}
	return show(want)
}

// quoteList joins quoted names: "a", "b" and "c"; at most ten, as a
// federation's party lists can be long.
func quoteList(names []string) string {
	const limit = 10
	q := make([]string, 0, min(len(names), limit))
	for _, n := range names[:min(len(names), limit)] {
		q = append(q, fmt.Sprintf("%q", n))
	}
	if len(names) > limit {
		return strings.Join(q, ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
	}
	if len(q) <= 2 {
		return strings.Join(q, " and ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func showIDs(ids []ebms.PartyID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = idString(PartyID(id))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " + ")
}

// showParty prints a configured party with its identifiers.
func showParty(p *Party) string {
	ids := make([]string, len(p.PartyIDs))
	for i, id := range p.PartyIDs {
		ids[i] = idString(id)
	}
	return fmt.Sprintf("party %q [%s]", p.Name, strings.Join(ids, ", "))
}
