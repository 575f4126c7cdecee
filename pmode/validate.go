package pmode

import (
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
)

// Problem is one thing wrong with a Set, at a configuration key path such as
// "pmodes.legs[2].security.signatureAlgorithm".
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every problem Validate found; it is the error Validate returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Validate checks the set under the key "pmodes" and returns Problems (every
// problem found, in key order) or nil.
func (s *Set) Validate() error { return s.ValidateAt("pmodes") }

// ValidateAt is Validate with another key prefix, for sets kept elsewhere in a
// configuration (e.g. "tenants[1].pmodes").
func (s *Set) ValidateAt(prefix string) error {
	v := &validator{set: s, byName: map[string]bool{}}
	for _, p := range s.Parties {
		v.byName[p.Name] = true
	}
	v.parties(prefix)
	v.legs(prefix)
	if len(v.problems) == 0 {
		return nil
	}
	return v.problems
}

type validator struct {
	set      *Set
	byName   map[string]bool
	problems Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) partyNames() string {
	if len(v.set.Parties) == 0 {
		return "parties is empty"
	}
	names := make([]string, len(v.set.Parties))
	for i, p := range v.set.Parties {
		names[i] = p.Name
	}
	return "have: " + nameList(names)
}

// nameList joins names for a message, at most ten: a federation may have
// hundreds of parties.
func nameList(names []string) string {
	const limit = 10
	if len(names) > limit {
		return strings.Join(names[:limit], ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
	}
	return strings.Join(names, ", ")
}

func (v *validator) parties(prefix string) {
	s := v.set
	switch {
	case s.Self == "":
		v.add(prefix+".self", "is required: the name of this access point's own party in parties")
	case s.Party(s.Self) == nil:
		v.add(prefix+".self", "%q names no party (%s)", s.Self, v.partyNames())
	}
	seen := map[string]int{}
	type owner struct{ party, index int }
	ids := map[PartyID]owner{}
	for i, p := range s.Parties {
		path := fmt.Sprintf("%s.parties[%d]", prefix, i)
		switch {
		case p.Name == "":
			v.add(path+".name", "is required")
		case p.Name == AnyParty:
			v.add(path+".name", "%q is reserved for \"any party\" in legs", AnyParty)
		default:
			if j, dup := seen[p.Name]; dup {
				v.add(path+".name", "%q is also the name of parties[%d]", p.Name, j)
			} else {
				seen[p.Name] = i
			}
		}
		if len(p.PartyIDs) == 0 {
			v.add(path+".partyIds", "at least one PartyId is required")
		}
		for j, id := range p.PartyIDs {
			idPath := fmt.Sprintf("%s.partyIds[%d]", path, j)
			switch {
			case id.Value == "":
				v.add(idPath+".value", "is required")
				continue
			case id.Type == "":
				if err := checkURIReference(id.Value); err != nil {
					v.add(idPath+".type", "is required: %q without a type must be a URI (ebMS 3.0 Core eb:PartyId): %v", id.Value, err)
				}
			}
			key := PartyID{Value: strings.ToLower(id.Value), Type: strings.ToLower(id.Type)}
			if o, dup := ids[key]; dup && o.party != i {
				v.add(idPath, "%s is also an identifier of parties[%d] %q: a message could not tell them apart", idString(id), o.party, s.Parties[o.party].Name)
			} else if !dup {
				ids[key] = owner{i, j}
			}
		}
		if p.Endpoint != "" {
			if u, err := url.Parse(p.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.add(path+".endpoint", "%q is not an http(s) URL with a host", p.Endpoint)
			}
		}
	}
}

func (v *validator) legs(prefix string) {
	s := v.set
	if len(s.Legs) == 0 {
		v.add(prefix+".legs", "no legs: nothing could be sent or received")
	}
	seen := map[string]int{}
	// Only legs with the same collaboration can overlap: group them, so that
	// a set of many legs is not compared pairwise.
	type collab struct {
		service                 Service
		action, mpc, init, resp string
	}
	groups := map[collab][]int{}
	for i := range s.Legs {
		l := &s.Legs[i]
		path := fmt.Sprintf("%s.legs[%d]", prefix, i)
		if l.Name == "" {
			v.add(path+".name", "is required")
		} else if j, dup := seen[l.Name]; dup {
			v.add(path+".name", "%q is also the name of legs[%d]", l.Name, j)
		} else {
			seen[l.Name] = i
		}
		if m := l.MEP; m != "" && m != MEPOneWay && !strings.EqualFold(m, "oneway") {
			v.add(path+".mep", "%q is not supported (as4gw implements one-way push; use \"oneway\")", m)
		}
		if e := l.Envelope; e != "" && e != EnvelopeXHE {
			v.add(path+".envelope", "%q is not a known business envelope (use %q or leave it empty)", e, EnvelopeXHE)
		}
		if b := l.Binding; b != "" && b != BindingPush && !strings.EqualFold(b, "push") {
			v.add(path+".binding", "%q is not supported (as4gw implements one-way push; use \"push\")", b)
		}
		v.partyList(path+".initiators", l.Initiators)
		v.partyList(path+".responders", l.Responders)
		if s.Self != "" && len(l.Initiators)+len(l.Responders) > 0 && !l.Sends(s.Self) && !l.Receives(s.Self) {
			v.add(path, "neither initiators nor responders include this access point %q (or %q): the leg would never be used", s.Self, AnyParty)
		}
		if l.AnyPartyIDType != "" && !contains(l.Initiators, AnyParty) && !contains(l.Responders, AnyParty) {
			v.add(path+".anyPartyIdType", "has no effect: no initiator or responder is %q", AnyParty)
		}
		switch {
		case l.Service.Value == "":
			v.add(path+".service.value", "is required")
		case l.Service.Type == "":
			if err := checkURIReference(l.Service.Value); err != nil {
				v.add(path+".service.type", "is required: service %q without a type must be a URI (ebMS 3.0 Core eb:Service): %v", l.Service.Value, err)
			}
		}
		if l.Action == "" {
			v.add(path+".action", "is required")
		}
		if l.AgreementRef.Value == "" && l.AgreementRef.Type != "" {
			v.add(path+".agreementRef.value", "is required when agreementRef.type is set")
		}
		if l.MPC != "" {
			if err := checkURIReference(l.MPC); err != nil {
				v.add(path+".mpc", "must be a URI: %v", err)
			}
		}
		v.security(path+".security", l)
		v.reliability(path+".reliability", l)
		v.payloadProfile(path+".payloadProfile", &l.PayloadProfile)
		v.properties(path+".properties", l.Properties)
		key := collab{l.Service, l.Action, l.EffectiveMPC(), l.EffectiveInitiatorRole(), l.EffectiveResponderRole()}
		for _, j := range groups[key] {
			if overlaps(&s.Legs[j], l) {
				v.add(path, "takes the same messages as legs[%d] %q (same service, action, roles, AgreementRef and MPC, overlapping parties, equally specific): make them differ or remove one", j, s.Legs[j].Name)
			}
		}
		groups[key] = append(groups[key], i)
	}
}

func (v *validator) partyList(path string, names []string) {
	if len(names) == 0 {
		v.add(path, "at least one party name (or %q for any party) is required", AnyParty)
	}
	for j, n := range names {
		if n != AnyParty && !v.byName[n] {
			v.add(fmt.Sprintf("%s[%d]", path, j), "%q names no party (%s; or %q for any party)", n, v.partyNames(), AnyParty)
		}
	}
}

func (v *validator) alg(path string, k algKind, value, what string) {
	if value == "" {
		return
	}
	a, ok := lookupAlg(k, value)
	switch {
	case !ok:
		v.add(path, "%q is not a known %s (use %s)", value, what, allowedNames(k))
	case a.refused != "":
		v.add(path, "%q is not allowed: %s (use %s)", value, a.refused, allowedNames(k))
	}
}

func (v *validator) security(path string, l *Leg) {
	sec := &l.Security
	v.alg(path+".signatureAlgorithm", algSignature, sec.SignatureAlgorithm, "signature algorithm")
	v.alg(path+".digestAlgorithm", algDigest, sec.DigestAlgorithm, "digest algorithm")
	v.alg(path+".dataEncryption", algDataEncryption, sec.DataEncryption, "data encryption algorithm")
	v.alg(path+".keyTransport", algKeyTransport, sec.KeyTransport, "key transport algorithm")
	v.alg(path+".keyTransportDigest", algOAEPDigest, sec.KeyTransportDigest, "OAEP digest")
	v.alg(path+".keyTransportMgf", algMGF, sec.KeyTransportMGF, "mask generation function")
	if uriOr(algKeyTransport, sec.KeyTransport) == aesgcm.RSAOAEPMGF1P && sec.KeyTransportMGF != "" &&
		uriOr(algMGF, sec.KeyTransportMGF) != aesgcm.MGF1SHA1 {
		v.add(path+".keyTransportMgf", "%q cannot be used with rsa-oaep-mgf1p, whose MGF is always MGF1-SHA1 (use keyTransport rsa-oaep)", sec.KeyTransportMGF)
	}
	if sec.RequireSignedReceipt && !l.Reliability.Receipts {
		v.add(path+".requireSignedReceipt", "needs reliability.receipts: no receipt is expected on this leg")
	}
}

func (v *validator) reliability(path string, l *Leg) {
	r := &l.Reliability
	if p := r.ReplyPattern; p != "" && p != ReplyPatternResponse {
		v.add(path+".replyPattern", "%q is not supported (as4gw returns receipts and errors on the HTTP response: use %q)", p, ReplyPatternResponse)
	}
	if r.NonRepudiation && !r.Receipts {
		v.add(path+".nonRepudiation", "needs reliability.receipts")
	}
	if r.NonRepudiation && !l.Security.Sign {
		v.add(path+".nonRepudiation", "needs security.sign: a non-repudiation receipt returns the digests of the signed parts")
	}
	if err := r.Retry.Validate(); err != nil {
		v.add(path+".retry", "%v", err)
	}
}

func (v *validator) payloadProfile(path string, pp *PayloadProfile) {
	if pp.MaxSize < 0 {
		v.add(path+".maxSize", "%d is negative (0 means no limit)", pp.MaxSize)
	}
	cids := map[string]int{}
	body := -1
	for j, part := range pp.Parts {
		pPath := fmt.Sprintf("%s.parts[%d]", path, j)
		if part.InBody {
			if part.ContentID != "" {
				v.add(pPath+".contentId", "must be empty for a part in the SOAP Body (inBody)")
			}
			if body >= 0 {
				v.add(pPath+".inBody", "parts[%d] is the SOAP Body already", body)
			}
			body = j
		} else {
			cid := strings.ToLower(strings.TrimPrefix(strings.ToLower(part.ContentID), "cid:"))
			switch {
			case cid == "":
				v.add(pPath+".contentId", "is required (e.g. \"cid:message\"; or set inBody)")
			default:
				if k, dup := cids[cid]; dup {
					v.add(pPath+".contentId", "%q is also the Content-ID of parts[%d]", part.ContentID, k)
				} else {
					cids[cid] = j
				}
			}
		}
		if part.MimeType != "" {
			if _, _, err := mime.ParseMediaType(part.MimeType); err != nil {
				v.add(pPath+".mimeType", "%q is not a MIME type: %v", part.MimeType, err)
			}
		}
	}
}

func (v *validator) properties(path string, rules []PropertyRule) {
	seen := map[string]int{}
	for j, r := range rules {
		rPath := fmt.Sprintf("%s[%d]", path, j)
		if r.Name == "" {
			v.add(rPath+".name", "is required")
			continue
		}
		if k, dup := seen[r.Name]; dup {
			v.add(rPath+".name", "%q is also the name of %s[%d]", r.Name, path, k)
		} else {
			seen[r.Name] = j
		}
		if r.TypeRequired && r.Type == "" {
			v.add(rPath+".type", "is required when typeRequired is set")
		}
	}
}

// overlaps reports whether some message would match both legs equally
// specifically, so that matching could not choose (see match.go: a leg's
// wildcard count is how many of initiator, responder and AgreementRef it
// matched only through "*" or an unset AgreementRef; the lowest count wins).
func overlaps(a, b *Leg) bool {
	if a.Service != b.Service || a.Action != b.Action || a.EffectiveMPC() != b.EffectiveMPC() ||
		a.EffectiveInitiatorRole() != b.EffectiveInitiatorRole() || a.EffectiveResponderRole() != b.EffectiveResponderRole() {
		return false
	}
	for _, i := range sideCombos(a.Initiators, b.Initiators) {
		for _, r := range sideCombos(a.Responders, b.Responders) {
			for _, g := range agreementCombos(a.AgreementRef, b.AgreementRef) {
				if i[0]+r[0]+g[0] == i[1]+r[1]+g[1] {
					return true
				}
			}
		}
	}
	return false
}

// sideCombos lists the (wildcard-a, wildcard-b) pairs with which one party can
// match both lists.
func sideCombos(a, b []string) [][2]int {
	inA, inB := toSet(a), toSet(b)
	aAny, bAny := inA[AnyParty], inB[AnyParty]
	// At most the four distinct pairs matter.
	found := map[[2]int]bool{}
	if aAny && bAny {
		found[[2]int{1, 1}] = true
	}
	for p := range inA {
		switch {
		case p == AnyParty:
		case inB[p]:
			found[[2]int{0, 0}] = true
		case bAny:
			found[[2]int{0, 1}] = true
		}
	}
	for p := range inB {
		if p != AnyParty && !inA[p] && aAny {
			found[[2]int{1, 0}] = true
		}
	}
	out := make([][2]int, 0, len(found))
	for c := range found {
		out = append(out, c)
	}
	return out
}

func toSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func agreementCombos(a, b AgreementRef) [][2]int {
	switch {
	case a == b && a.Value == "":
		return [][2]int{{0, 0}, {1, 1}}
	case a == b:
		return [][2]int{{0, 0}}
	case a.Value == "":
		return [][2]int{{1, 0}}
	case b.Value == "":
		return [][2]int{{0, 1}}
	}
	return nil
}

func idString(id PartyID) string {
	if id.Type == "" {
		return fmt.Sprintf("%q (no type)", id.Value)
	}
	return fmt.Sprintf("%q (type %q)", id.Value, id.Type)
}

// checkURIReference checks that s is an RFC 3986 URI-reference the way the
// ebms decoder does for untyped PartyId and Service values, so that a P-Mode
// never sends what a peer (or we) would reject with EBMS:0003.
func checkURIReference(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		isURIChar := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
		if !isURIChar {
			return fmt.Errorf("%q contains %q, which a URI cannot hold", s, c)
		}
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	colon := strings.IndexByte(s[:end], ':')
	if colon < 0 {
		return nil
	}
	scheme := s[:colon]
	ok := scheme != "" && (scheme[0] >= 'a' && scheme[0] <= 'z' || scheme[0] >= 'A' && scheme[0] <= 'Z')
	for i := 1; ok && i < len(scheme); i++ {
		c := scheme[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
	}
	if !ok {
		return fmt.Errorf("%q: %q before ':' is not a URI scheme", s, scheme)
	}
	return nil
}
