package pmode

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/ebms"
)

// Submission is what a backend asks to send: the collaboration values of the
// UserMessage before a leg is chosen.
type Submission struct {
	Service, ServiceType string
	Action               string
	// OriginalSender and FinalRecipient are the four-corner message
	// properties (participant ids, e.g. "0203:malmo.se").
	OriginalSender, OriginalSenderType string
	FinalRecipient, FinalRecipientType string
	// ToPartyID and ToPartyType name the receiving access point when the
	// backend knows it; empty when discovery decides (SDK).
	ToPartyID, ToPartyType string
	// AgreementRef is optional; a leg with an AgreementRef supplies its own.
	AgreementRef, AgreementRefType string
	// MPC is optional; "" means the leg's.
	MPC string
	// Properties are further message properties.
	Properties []ebms.Property
}

// candidate is one leg evaluated against a message.
type candidate struct {
	leg        *Leg
	mismatches []Mismatch
	// wildcards counts the parts matched only through AnyParty or an unset
	// AgreementRef; among matching legs the lowest count wins.
	wildcards int
}

// matcher holds what one match call looks up repeatedly, so that matching
// stays linear in the size of the set: a peer sending nonsense must not make
// us scan every party once per leg and listed name.
type matcher struct {
	s      *Set
	byName map[string]*Party
	// peer holds the names of the configured parties that carry the message's
	// From (inbound) or To (outbound) PartyIds.
	peer map[string]bool
}

func (s *Set) newMatcher(peerIDs []ebms.PartyID, valueOnly bool) *matcher {
	m := &matcher{s: s, byName: make(map[string]*Party, len(s.Parties)), peer: map[string]bool{}}
	for i := range s.Parties {
		p := &s.Parties[i]
		if _, dup := m.byName[p.Name]; !dup {
			m.byName[p.Name] = p
		}
		if anyID(p, peerIDs, valueOnly) {
			m.peer[p.Name] = true
		}
	}
	return m
}

// MatchOutbound picks the leg for a submission: a leg this access point
// initiates, with the submission's service, action and (when given)
// AgreementRef, MPC and receiving party. Message properties the leg requires
// must be present. Errors are *MatchError or *ProfileError.
func (s *Set) MatchOutbound(sub Submission) (*Leg, error) {
	var toIDs []ebms.PartyID
	if sub.ToPartyID != "" {
		toIDs = []ebms.PartyID{{Value: sub.ToPartyID, Type: sub.ToPartyType}}
	}
	m := s.newMatcher(toIDs, sub.ToPartyType == "")
	cands := make([]candidate, len(s.Legs))
	for i := range s.Legs {
		cands[i] = m.outbound(&s.Legs[i], sub)
	}
	summary := func() string { // formatted only for an error
		to := ""
		if sub.ToPartyID != "" {
			to = ", to " + idString(PartyID{Value: sub.ToPartyID, Type: sub.ToPartyType})
		}
		return fmt.Sprintf("(service %s type %s, action %s%s)", show(sub.Service), show(sub.ServiceType), show(sub.Action), to)
	}
	leg, err := s.choose(cands, false, summary, func(*MatchError) {})
	if err != nil {
		return nil, err
	}
	props := append([]ebms.Property(nil), sub.Properties...)
	if sub.OriginalSender != "" {
		props = append(props, ebms.Property{Name: ebms.PropertyOriginalSender, Value: sub.OriginalSender, Type: sub.OriginalSenderType})
	}
	if sub.FinalRecipient != "" {
		props = append(props, ebms.Property{Name: ebms.PropertyFinalRecipient, Value: sub.FinalRecipient, Type: sub.FinalRecipientType})
	}
	if err := leg.CheckProperties(props); err != nil {
		return nil, err
	}
	return leg, nil
}

func (m *matcher) outbound(l *Leg, sub Submission) candidate {
	s := m.s
	c := candidate{leg: l}
	add := func(field, got, want string) { c.mismatches = append(c.mismatches, Mismatch{field, got, want}) }
	switch {
	case contains(l.Initiators, s.Self):
	case contains(l.Initiators, AnyParty):
		c.wildcards++
	default:
		add("direction", fmt.Sprintf("this access point %q sending", s.Self), fmt.Sprintf("an initiator among %s", quoteList(l.Initiators)))
	}
	collaboration(&c, sub.Service, sub.ServiceType, sub.Action)
	if sub.AgreementRef != "" {
		switch {
		case l.AgreementRef.Value == "":
			c.wildcards++
		case l.AgreementRef.Value != sub.AgreementRef || l.AgreementRef.Type != sub.AgreementRefType:
			add("agreementRef", agreementString(sub.AgreementRef, sub.AgreementRefType), agreementString(l.AgreementRef.Value, l.AgreementRef.Type))
		}
	}
	if sub.MPC != "" && sub.MPC != l.EffectiveMPC() {
		add("mpc", show(sub.MPC), show(l.EffectiveMPC()))
	}
	if sub.ToPartyID != "" {
		ids := []ebms.PartyID{{Value: sub.ToPartyID, Type: sub.ToPartyType}}
		explicit, wildcard := m.partyMatch(l, l.Responders, ids, sub.ToPartyType == "")
		switch {
		case explicit:
		case wildcard:
			c.wildcards++
		default:
			add("to party", idString(PartyID(ids[0])), m.expectParties(l, l.Responders))
		}
	}
	return c
}

// MatchInbound picks the leg for a received UserMessage: To must be this
// access point, From an initiator of the leg, and roles, service, action,
// AgreementRef and MPC those of the leg. The leg's message properties and
// payload profile are checked too (payload sizes are not known yet; call
// CheckPayloads again with them). Errors are *MatchError or *ProfileError
// carrying the EBMS code to answer with.
func (s *Set) MatchInbound(u *ebms.UserMessage) (*Leg, error) {
	ci := u.CollaborationInfo
	summary := func() string { // formatted only for an error
		return fmt.Sprintf("(from %s to %s, service %s type %s, action %s)",
			showIDs(u.PartyInfo.From.PartyIDs), showIDs(u.PartyInfo.To.PartyIDs), show(ci.Service.Value), show(ci.Service.Type), show(ci.Action))
	}
	self := s.SelfParty()
	if self == nil {
		return nil, &MatchError{Code: ebms.CodeProcessingModeMismatch, Inbound: true, Message: summary(),
			Reason: fmt.Sprintf("the P-Mode set has no own party (self %q)", s.Self)}
	}
	if !anyID(self, u.PartyInfo.To.PartyIDs, false) {
		return nil, &MatchError{Code: ebms.CodeValueInconsistent, Inbound: true, Message: summary(),
			Reason: fmt.Sprintf("to party is %s, but this access point is %s", showIDs(u.PartyInfo.To.PartyIDs), showParty(self))}
	}
	m := s.newMatcher(u.PartyInfo.From.PartyIDs, false)
	cands := make([]candidate, len(s.Legs))
	for i := range s.Legs {
		cands[i] = m.inbound(&s.Legs[i], u)
	}
	leg, err := s.choose(cands, true, summary, func(e *MatchError) { e.Code = m.inboundCode(cands, u) })
	if err != nil {
		return nil, err
	}
	if err := leg.CheckProperties(u.MessageProperties); err != nil {
		return nil, err
	}
	if err := leg.CheckPayloads(u.PayloadInfo, nil); err != nil {
		return nil, err
	}
	return leg, nil
}

func (m *matcher) inbound(l *Leg, u *ebms.UserMessage) candidate {
	s := m.s
	c := candidate{leg: l}
	add := func(field, got, want string) { c.mismatches = append(c.mismatches, Mismatch{field, got, want}) }
	from, to := u.PartyInfo.From, u.PartyInfo.To
	switch {
	case contains(l.Responders, s.Self):
	case contains(l.Responders, AnyParty) && anyTypeOK(l, to.PartyIDs):
		c.wildcards++
	default:
		add("direction", fmt.Sprintf("this access point %q receiving", s.Self), fmt.Sprintf("a responder among %s", quoteList(l.Responders)))
	}
	explicit, wildcard := m.partyMatch(l, l.Initiators, from.PartyIDs, false)
	switch {
	case explicit:
	case wildcard:
		c.wildcards++
	default:
		add("from party", showIDs(from.PartyIDs), m.expectParties(l, l.Initiators))
	}
	if from.Role != l.EffectiveInitiatorRole() {
		add("from role", show(from.Role), showWant(from.Role, l.EffectiveInitiatorRole()))
	}
	if to.Role != l.EffectiveResponderRole() {
		add("to role", show(to.Role), showWant(to.Role, l.EffectiveResponderRole()))
	}
	collaboration(&c, u.CollaborationInfo.Service.Value, u.CollaborationInfo.Service.Type, u.CollaborationInfo.Action)
	if ar := u.CollaborationInfo.AgreementRef; ar != nil && ar.Value != "" {
		switch {
		case l.AgreementRef.Value == "":
			c.wildcards++
		case l.AgreementRef.Value != ar.Value || l.AgreementRef.Type != ar.Type:
			add("agreementRef", agreementString(ar.Value, ar.Type), agreementString(l.AgreementRef.Value, l.AgreementRef.Type))
		}
	} else if l.AgreementRef.Value != "" {
		add("agreementRef", "none", agreementString(l.AgreementRef.Value, l.AgreementRef.Type))
	}
	if mpc := u.EffectiveMPC(); mpc != l.EffectiveMPC() {
		add("mpc", show(mpc), showWant(mpc, l.EffectiveMPC()))
	}
	return c
}

// collaboration compares service, service type and action.
func collaboration(c *candidate, service, serviceType, action string) {
	l := c.leg
	if service != l.Service.Value {
		c.mismatches = append(c.mismatches, Mismatch{"service", show(service), showWant(service, l.Service.Value)})
	}
	if serviceType != l.Service.Type {
		c.mismatches = append(c.mismatches, Mismatch{"service type", show(serviceType), showWant(serviceType, l.Service.Type)})
	}
	if action != l.Action {
		c.mismatches = append(c.mismatches, Mismatch{"action", show(action), showWant(action, l.Action)})
	}
}

// partyMatch reports whether the peer's party ids name a listed party
// (explicit) or are accepted by AnyParty in the list (wildcard). valueOnly ignores
// types (a submission that gives a party id without type).
func (m *matcher) partyMatch(l *Leg, names []string, ids []ebms.PartyID, valueOnly bool) (explicit, wildcard bool) {
	for _, n := range names {
		if n == AnyParty {
			wildcard = anyTypeOK(l, ids) || valueOnly
			continue
		}
		if m.peer[n] {
			return true, false
		}
	}
	return false, wildcard
}

// anyTypeOK reports whether some id has the leg's AnyPartyIDType (any when unset).
func anyTypeOK(l *Leg, ids []ebms.PartyID) bool {
	if len(ids) == 0 {
		return false
	}
	if l.AnyPartyIDType == "" {
		return true
	}
	for _, id := range ids {
		if strings.EqualFold(id.Type, l.AnyPartyIDType) {
			return true
		}
	}
	return false
}

func anyID(p *Party, ids []ebms.PartyID, valueOnly bool) bool {
	for _, id := range ids {
		if valueOnly {
			for _, own := range p.PartyIDs {
				if strings.EqualFold(own.Value, id.Value) {
					return true
				}
			}
		} else if p.hasID(PartyID(id)) {
			return true
		}
	}
	return false
}

// maxExpectParties caps the parties an error lists per leg side.
const maxExpectParties = 4

// expectParties describes the parties a leg accepts on one side.
func (m *matcher) expectParties(l *Leg, names []string) string {
	var parts []string
	for i, n := range names {
		if i == maxExpectParties {
			parts = append(parts, fmt.Sprintf("%d more parties", len(names)-i))
			break
		}
		switch p := m.byName[n]; {
		case n == AnyParty && l.AnyPartyIDType != "":
			parts = append(parts, fmt.Sprintf("any party with a PartyId of type %q", l.AnyPartyIDType))
		case n == AnyParty:
			parts = append(parts, "any party")
		case p != nil:
			parts = append(parts, showParty(p))
		default:
			parts = append(parts, fmt.Sprintf("party %q (not configured)", n))
		}
	}
	if len(parts) == 0 {
		return "no party (the leg lists none)"
	}
	return strings.Join(parts, " or ")
}

// choose returns the single matching leg, preferring the fewest wildcards, or
// a *MatchError listing the closest candidates or the tie. setCode adjusts the
// code of a no-match error (inbound only).
func (s *Set) choose(cands []candidate, inbound bool, summary func() string, setCode func(*MatchError)) (*Leg, error) {
	var matched []candidate
	for _, c := range cands {
		if len(c.mismatches) == 0 {
			matched = append(matched, c)
		}
	}
	if len(matched) > 0 {
		best := matched[0].wildcards
		for _, c := range matched[1:] {
			best = min(best, c.wildcards)
		}
		var tied []string
		var leg *Leg
		for _, c := range matched {
			if c.wildcards == best {
				tied = append(tied, c.leg.Name)
				leg = c.leg
			}
		}
		if len(tied) == 1 {
			return leg, nil
		}
		return nil, &MatchError{Code: ebms.CodeProcessingModeMismatch, Inbound: inbound, Message: summary(), Ambiguous: tied}
	}
	e := &MatchError{Code: ebms.CodeProcessingModeMismatch, Inbound: inbound, Message: summary()}
	if len(cands) == 0 {
		e.Reason = "the P-Mode set has no legs"
		return nil, e
	}
	fewest := len(cands[0].mismatches)
	for _, c := range cands[1:] {
		fewest = min(fewest, len(c.mismatches))
	}
	for _, c := range cands {
		if len(c.mismatches) != fewest {
			continue
		}
		if len(e.Closest) == maxClosest {
			e.More++
			continue
		}
		e.Closest = append(e.Closest, LegMismatches{Leg: c.leg.Name, Mismatches: c.mismatches})
	}
	setCode(e)
	return nil, e
}

// inboundCode picks the EBMS code when no leg matched: 0003 when no leg takes
// the From party at all, 0001 when no leg knows the service or the action,
// else 0010 (the values are known but not in this combination).
func (m *matcher) inboundCode(cands []candidate, u *ebms.UserMessage) ebms.Code {
	fromKnown, serviceKnown, actionKnown := false, false, false
	ci := u.CollaborationInfo
	for _, c := range cands {
		l := c.leg
		if e, a := m.partyMatch(l, l.Initiators, u.PartyInfo.From.PartyIDs, false); e || a {
			fromKnown = true
		}
		serviceKnown = serviceKnown || (l.Service.Value == ci.Service.Value && l.Service.Type == ci.Service.Type)
		actionKnown = actionKnown || l.Action == ci.Action
	}
	switch {
	case !fromKnown:
		return ebms.CodeValueInconsistent
	case !serviceKnown || !actionKnown:
		return ebms.CodeValueNotRecognized
	}
	return ebms.CodeProcessingModeMismatch
}

func agreementString(value, typ string) string {
	if value == "" {
		return "none"
	}
	if typ == "" {
		return fmt.Sprintf("%q", value)
	}
	return fmt.Sprintf("%q (type %q)", value, typ)
}

// Responder resolves the receiving party of a submission matched to leg: the
// configured party it names (or the leg's only configured responder), or, for
// a leg open to any party, nil with the PartyId discovery should look up. Both
// nil and a zero PartyID mean that discovery finds the receiver from the
// finalRecipient (SDK).
func (s *Set) Responder(l *Leg, sub Submission) (*Party, PartyID, error) {
	if sub.ToPartyID != "" {
		ids := []ebms.PartyID{{Value: sub.ToPartyID, Type: sub.ToPartyType}}
		m := s.newMatcher(ids, sub.ToPartyType == "")
		for _, n := range l.Responders {
			if m.peer[n] {
				return m.byName[n], PartyID{}, nil
			}
		}
		if contains(l.Responders, AnyParty) {
			typ := sub.ToPartyType
			if typ == "" {
				typ = l.AnyPartyIDType
			}
			return nil, PartyID{Value: sub.ToPartyID, Type: typ}, nil
		}
		return nil, PartyID{}, fmt.Errorf("pmode: leg %q: to party %s is not a responder (expects %s)",
			l.Name, idString(PartyID(ids[0])), m.expectParties(l, l.Responders))
	}
	var configured []string
	for _, n := range l.Responders {
		if n != AnyParty && n != s.Self {
			configured = append(configured, n)
		}
	}
	switch {
	case contains(l.Responders, AnyParty):
		return nil, PartyID{}, nil
	case len(configured) == 1:
		return s.Party(configured[0]), PartyID{}, nil
	case len(configured) == 0 && contains(l.Responders, s.Self):
		return s.SelfParty(), PartyID{}, nil // a loopback leg
	}
	return nil, PartyID{}, fmt.Errorf("pmode: leg %q: toPartyId is required to choose among responders %s", l.Name, quoteList(configured))
}
