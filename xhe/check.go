package xhe

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/as4gw/as4gw/ebms"
)

// childSpec describes an element XHE 1.0 allows below a parent.
type childSpec struct {
	space, local string
	// max is the most occurrences the schema allows; 0 means unbounded (or: counted by a
	// more specific rule in values, so that one cause gives one problem).
	max int
	// forbidden: XHE defines it but DIGG's profile leaves it out (R1-XHE).
	forbidden bool
	// leaf: a basic component, text only.
	leaf bool
	// children is the spec of its own children; nil means not descended into.
	children []childSpec
}

func leaf(space, local string) childSpec {
	return childSpec{space: space, local: local, max: 1, leaf: true}
}

func forbid(space, local string) childSpec {
	return childSpec{space: space, local: local, forbidden: true}
}

// The XHE 1.0 structure as far as the profile uses it. Elements XHE defines but the profile
// does not mention (Header/UUID, Payload/ID, Payload/UUID) are accepted and ignored.
var (
	partyIdentificationSpec = []childSpec{leaf(NamespaceBasic, "ID")}
	partySpec               = []childSpec{
		{space: NamespaceAggregate, local: "PartyIdentification", children: partyIdentificationSpec},
	}
	criterionSpec = []childSpec{
		leaf(NamespaceBasic, "BusinessScopeCriterionTypeCode"),
		leaf(NamespaceBasic, "BusinessScopeCriterionValue"),
	}
	businessScopeSpec = []childSpec{
		{space: NamespaceAggregate, local: "BusinessScopeCriterion", children: criterionSpec},
		forbid(NamespaceAggregate, "ExternalReference"),
	}
	headerSpec = []childSpec{
		leaf(NamespaceBasic, "ID"),
		leaf(NamespaceBasic, "UUID"),
		leaf(NamespaceBasic, "CreationDateTime"),
		{space: NamespaceAggregate, local: "BusinessScope", max: 1, children: businessScopeSpec},
		{space: NamespaceAggregate, local: "FromParty", children: partySpec},
		{space: NamespaceAggregate, local: "ToParty", children: partySpec},
	}
	payloadSpec = []childSpec{
		leaf(NamespaceBasic, "ID"),
		leaf(NamespaceBasic, "UUID"),
		forbid(NamespaceBasic, "Description"),
		forbid(NamespaceBasic, "CustomizationID"),
		forbid(NamespaceBasic, "ProfileID"),
		forbid(NamespaceBasic, "ProfileExecutionID"),
		leaf(NamespaceBasic, "DocumentTypeCode"),
		leaf(NamespaceBasic, "ContentTypeCode"),
		forbid(NamespaceBasic, "ValidationTypeCode"),
		leaf(NamespaceBasic, "HandlingServiceID"),
		leaf(NamespaceBasic, "InstanceEncryptionIndicator"),
		forbid(NamespaceBasic, "InstanceEncryptionMethod"),
		forbid(NamespaceBasic, "InstanceHashValue"),
		forbid(NamespaceAggregate, "InstanceDecryptionInformationExternalReference"),
		forbid(NamespaceAggregate, "InstanceDecryptionKeyExternalReference"),
		forbid(NamespaceAggregate, "RelevantExternalReference"),
		{space: NamespaceAggregate, local: "PayloadContent", max: 1},
	}
	payloadsSpec = []childSpec{
		{space: NamespaceAggregate, local: "Payload", children: payloadSpec},
	}
	// rootSpec is in schema order (XHE-1.0.xsd), which the root's children must follow.
	rootSpec = []childSpec{
		forbid(NamespaceExtension, "XHEExtensions"),
		leaf(NamespaceBasic, "XHEVersionID"),
		leaf(NamespaceBasic, "CustomizationID"),
		forbid(NamespaceBasic, "ProfileID"),
		forbid(NamespaceBasic, "ProfileExecutionID"),
		{space: NamespaceAggregate, local: "Header", max: 1, children: headerSpec},
		{space: NamespaceAggregate, local: "Payloads", max: 1, children: payloadsSpec},
		{space: NamespaceDS, local: "Signature"},
	}
)

var xheNamespaces = []string{NamespaceXHE, NamespaceAggregate, NamespaceBasic, NamespaceExtension}

type checker struct {
	problems []Problem
}

func (c *checker) add(path, rule, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

// Check applies DIGG's XHE profile (see the package documentation for every rule and its
// source). It returns nil or an *Error of KindMalformed listing every violation.
func (e *Envelope) Check() error {
	if e == nil || e.root == nil {
		return malformed(Problem{Rule: RuleXML, Msg: "no envelope (an Envelope comes from Parse)"})
	}
	c := &checker{}
	c.structure(e.root, "XHE", rootSpec, true)
	c.empties(e.root, "XHE")
	c.values(e.root)
	if len(c.problems) > 0 {
		return malformed(c.problems...)
	}
	return nil
}

// structure checks that every child of n is an element XHE allows there, not one the profile
// forbids, not repeated beyond the schema, in schema order where ordered, and descends.
func (c *checker) structure(n *node, path string, spec []childSpec, ordered bool) {
	counts := make([]int, len(spec))
	last := -1
	for _, ch := range n.children {
		cp := childPath(path, n, ch)
		idx := slices.IndexFunc(spec, func(s childSpec) bool { return ch.is(s.space, s.local) })
		if idx < 0 {
			if slices.Contains(xheNamespaces, ch.space) {
				c.add(cp, RuleSchema, "{%s}%s is not an XHE 1.0 element of %s", ch.space, ch.local, n.local)
			} else {
				c.add(cp, RuleSchema, "element {%s}%s is not allowed in %s", ch.space, ch.local, n.local)
			}
			continue
		}
		s := spec[idx]
		if s.forbidden {
			c.add(cp, RuleR1, "%s is not part of DIGG's XHE profile and must not be used", ch.local)
			continue
		}
		counts[idx]++
		if s.max > 0 && counts[idx] == s.max+1 {
			c.add(cp, RuleSchema, "%s appears more than once", ch.local)
		}
		if ordered {
			if idx < last {
				c.add(cp, RuleSchema, "%s is out of schema order: it must come before %s", ch.local, spec[last].local)
			} else {
				last = idx
			}
		}
		if s.leaf && len(ch.children) > 0 {
			c.add(cp, RuleSchema, "%s holds elements; XHE defines it as text only", ch.local)
		}
		if s.children != nil {
			c.structure(ch, cp, s.children, false)
		}
	}
}

// empties applies R2-XHE: no empty elements or attributes outside PayloadContent, elements
// in the XML Encryption and Signature namespaces exempt. PayloadContent itself must not be
// empty.
func (c *checker) empties(n *node, path string) {
	exempt := n.space == NamespaceXMLEnc || n.space == NamespaceDS
	if n.opaque {
		if n.is(NamespaceAggregate, "PayloadContent") && len(n.apex) == 0 && !n.hasText {
			c.add(path, RuleR2, "is empty")
		}
		return
	}
	if !exempt {
		for _, a := range n.attrs {
			if trimXMLSpace(a.value) == "" {
				c.add(path+"/@"+a.local, RuleR2, "attribute is empty")
			}
		}
		if len(n.children) == 0 && trimXMLSpace(string(n.text)) == "" {
			c.add(path, RuleR2, "is empty")
		}
	}
	for _, ch := range n.children {
		c.empties(ch, childPath(path, n, ch))
	}
}

// values applies the rules on values and cardinalities. An element that is present but
// empty is left to R2-XHE, so one cause gives one problem.
func (c *checker) values(root *node) {
	if v := root.first(NamespaceBasic, "XHEVersionID"); v == nil {
		c.add("XHE/XHEVersionID", RuleSchema, "missing; XHE 1.0 requires it")
	} else if s := v.value(); s != "" && s != XHEVersion {
		c.add(childPath("XHE", root, v), RuleR9, "%q is not %s", s, XHEVersion)
	}
	if v := root.first(NamespaceBasic, "CustomizationID"); v == nil {
		c.add("XHE/CustomizationID", RuleR14, "missing; must be %s", SDKCustomizationID)
	} else if s := v.value(); s != "" && s != SDKCustomizationID {
		c.add(childPath("XHE", root, v), RuleR3, "%q is not %s", s, SDKCustomizationID)
	}

	if h := root.first(NamespaceAggregate, "Header"); h == nil {
		c.add("XHE/Header", RuleSchema, "missing; XHE 1.0 requires it")
	} else {
		c.header(h, childPath("XHE", root, h))
	}

	pls := root.first(NamespaceAggregate, "Payloads")
	switch all := pls.all(NamespaceAggregate, "Payload"); {
	case len(all) == 0:
		c.add("XHE/Payloads/Payload", RuleR14, "missing; exactly one Payload is required")
	default:
		plsPath := childPath("XHE", root, pls)
		if len(all) > 1 {
			c.add(plsPath, RuleR14, "holds %d Payload elements; exactly one is allowed", len(all))
		}
		for _, p := range all {
			c.payload(p, childPath(plsPath, pls, p))
		}
	}
}

func (c *checker) header(h *node, path string) {
	if id := h.first(NamespaceBasic, "ID"); id == nil {
		c.add(path+"/ID", RuleSchema, "missing; XHE 1.0 requires it")
	} else if s := id.value(); s != "" && !isUUID(s) {
		c.add(childPath(path, h, id), RuleUUID, "%q is not a UUID", s)
	}
	if t := h.first(NamespaceBasic, "CreationDateTime"); t == nil {
		c.add(path+"/CreationDateTime", RuleSchema, "missing; XHE 1.0 requires it")
	} else if s := t.value(); s != "" {
		if rule, msg := checkDateTime(s); msg != "" {
			c.add(childPath(path, h, t), rule, "%s", msg)
		}
	}

	scope := h.first(NamespaceAggregate, "BusinessScope")
	scopePath := path + "/BusinessScope"
	if scope != nil {
		scopePath = childPath(path, h, scope)
	}
	crits := scope.all(NamespaceAggregate, "BusinessScopeCriterion")
	if len(crits) == 0 {
		c.add(scopePath+"/BusinessScopeCriterion", RuleR14, "missing; the five criteria DOCUMENTID, DOCUMENTID_SCHEME, PROCESSID, PROCESSID_SCHEME and FEDERATIONID are required")
	}
	seen := map[string]int{}
	for _, cr := range crits {
		cp := childPath(scopePath, scope, cr)
		code := cr.first(NamespaceBasic, "BusinessScopeCriterionTypeCode")
		if code == nil {
			c.add(cp+"/BusinessScopeCriterionTypeCode", RuleSchema, "missing; XHE 1.0 requires it")
		}
		if cr.first(NamespaceBasic, "BusinessScopeCriterionValue") == nil {
			c.add(cp+"/BusinessScopeCriterionValue", RuleSchema, "missing; XHE 1.0 requires it")
		}
		if code == nil {
			continue
		}
		s := code.value()
		seen[s]++
		if seen[s] == 2 && slices.ContainsFunc(requiredScopes, func(r struct{ code, rule string }) bool { return r.code == s }) {
			c.add(cp, RuleScopeUnique, "a second %s criterion; the access point derives AS4 headers from it and allows one", s)
		}
	}
	for _, r := range requiredScopes {
		if seen[r.code] == 0 {
			c.add(scopePath, r.rule, "no BusinessScopeCriterion with BusinessScopeCriterionTypeCode %s", r.code)
		}
	}

	c.parties(h, path, "FromParty", RuleR10)
	c.parties(h, path, "ToParty", RuleR11)
}

func (c *checker) parties(h *node, path, name, schemeRule string) {
	parties := h.all(NamespaceAggregate, name)
	if len(parties) == 0 {
		c.add(path+"/"+name, RuleR14, "missing; exactly one %s with one PartyIdentification is required", name)
		return
	}
	if len(parties) > 1 {
		c.add(path+"/"+name, RuleOneParty, "%d %s elements; the profile allows exactly one", len(parties), name)
	}
	for _, party := range parties {
		pp := childPath(path, h, party)
		pis := party.all(NamespaceAggregate, "PartyIdentification")
		if len(pis) != 1 {
			c.add(pp+"/PartyIdentification", RuleR14, "%d PartyIdentification elements; exactly one is required", len(pis))
		}
		for _, pi := range pis {
			pip := childPath(pp, party, pi)
			id := pi.first(NamespaceBasic, "ID")
			if id == nil {
				c.add(pip+"/ID", RuleSchema, "missing; XHE 1.0 requires it")
				continue
			}
			idPath := childPath(pip, pi, id)
			if scheme, ok := id.attr("schemeID"); !ok {
				c.add(idPath+"/@schemeID", schemeRule, "missing; must be %s", ParticipantScheme)
			} else if s := trimXMLSpace(scheme); s != "" && s != ParticipantScheme {
				c.add(idPath+"/@schemeID", schemeRule, "%q is not %s", s, ParticipantScheme)
			}
			if v := id.value(); v != "" {
				if msg := checkParticipant(v); msg != "" {
					c.add(idPath, RuleParticipant, "%s", msg)
				}
			}
		}
	}
}

func (c *checker) payload(p *node, path string) {
	for _, name := range []string{"DocumentTypeCode", "ContentTypeCode"} {
		if p.first(NamespaceBasic, name) == nil {
			c.add(path+"/"+name, RuleR14, "missing; the profile requires it")
		}
	}
	content := p.first(NamespaceAggregate, "PayloadContent")
	if content == nil {
		c.add(path+"/PayloadContent", RuleR14, "missing; the profile requires it")
	} else {
		cp := childPath(path, p, content)
		if len(content.apex) > 1 {
			c.add(cp, RuleSchema, "holds %d elements; XHE allows one", len(content.apex))
		}
		for _, a := range content.apex {
			if a.Space == NamespaceAggregate {
				c.add(cp, RuleSchema, "holds {%s}%s; payload content must not be from the XHE aggregate namespace", a.Space, a.Local)
			}
		}
	}
	ind := p.first(NamespaceBasic, "InstanceEncryptionIndicator")
	if ind == nil {
		c.add(path+"/InstanceEncryptionIndicator", RuleSchema, "missing; XHE 1.0 requires it")
		return
	}
	s := ind.value()
	if s == "" {
		return
	}
	encrypted, ok := parseBoolean(s)
	if !ok {
		c.add(childPath(path, p, ind), RuleSchema, "%q is not an xsd:boolean", s)
		return
	}
	if content == nil {
		return
	}
	hasEnc := slices.ContainsFunc(content.apex, func(n xml.Name) bool { return n.Space == NamespaceXMLEnc && n.Local == "EncryptedData" })
	cp := childPath(path, p, content)
	switch {
	case encrypted && !hasEnc:
		c.add(cp, RuleR12, "InstanceEncryptionIndicator is %s but PayloadContent holds no xenc:EncryptedData", s)
	case !encrypted && hasEnc:
		c.add(cp, RuleR13, "InstanceEncryptionIndicator is %s but PayloadContent holds xenc:EncryptedData", s)
	}
}

// parseBoolean reads an xsd:boolean (white space already trimmed).
func parseBoolean(s string) (value, ok bool) {
	switch s {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// isUUID reports whether s is a UUID in its textual form: 8-4-4-4-12 hexadecimal digits,
// either case (RFC 9562 §4), any version.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// checkDateTime returns the rule and message for a CreationDateTime without a time zone
// (SDK-ZONE) or not an xsd:dateTime (XHE-XSD); "" when it is fine.
func checkDateTime(s string) (rule, msg string) {
	if !hasZone(s) {
		return RuleZone, fmt.Sprintf("%q has no time zone (Z or ±hh:mm)", s)
	}
	if _, err := ebms.ParseTimestamp(s); err != nil {
		return RuleSchema, err.Error()
	}
	return "", ""
}

func hasZone(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	n := len(s)
	// ±hh:mm after at least "YYYY-MM-DDThh:mm:ss": a '-' in the date must not count.
	return n >= 25 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':'
}

// checkParticipant returns why v is not an SDK participant id (ICD:identifier), or "".
func checkParticipant(v string) string {
	icd, id, ok := strings.Cut(v, ":")
	if !ok || len(icd) != 4 || strings.Trim(icd, "0123456789") != "" || id == "" {
		return fmt.Sprintf("%q is not an ISO 6523 participant id ICD:identifier (e.g. 0203:malmo.se)", v)
	}
	if !slices.Contains(participantICDs, icd) {
		return fmt.Sprintf("ICD %s of %q is not one SDK uses (%s)", icd, v, strings.Join(participantICDs, ", "))
	}
	return ""
}
