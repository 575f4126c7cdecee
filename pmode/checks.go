package pmode

import (
	"fmt"
	"mime"
	"strings"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
)

// CheckProperties checks message properties against the leg's rules: every
// required property present with a value (EBMS:0010, a P-Mode mismatch), and
// no property typed differently from its rule (EBMS:0003). Properties the leg
// does not list are allowed, as ebMS allows them.
func (l *Leg) CheckProperties(props []ebms.Property) error {
	for _, r := range l.Properties {
		var found *ebms.Property
		for i := range props {
			if props[i].Name == r.Name {
				found = &props[i]
				break
			}
		}
		field := fmt.Sprintf("message property %q", r.Name)
		switch {
		case found == nil || found.Value == "":
			if r.Required {
				return &ProfileError{Code: ebms.CodeProcessingModeMismatch, Leg: l.Name, Field: field, Detail: "is required but missing"}
			}
		case found.Type == "" && r.TypeRequired:
			return &ProfileError{Code: ebms.CodeValueInconsistent, Leg: l.Name, Field: field,
				Detail: fmt.Sprintf("has no type, expects type %q", r.Type)}
		case found.Type != "" && r.Type != "" && found.Type != r.Type:
			return &ProfileError{Code: ebms.CodeValueInconsistent, Leg: l.Name, Field: field,
				Detail: fmt.Sprintf("has type %q, expects %q%s", found.Type, r.Type, caseHint(found.Type, r.Type))}
		}
	}
	return nil
}

func caseHint(got, want string) string {
	if strings.EqualFold(got, want) {
		return " (differs only in case)"
	}
	return ""
}

// CheckPayloads checks a message's PartInfo list against the leg's payload
// profile, as Domibus does: each part must match an unused profile part
// (SOAP Body or Content-ID pattern) with the expected MimeType part property,
// and every required profile part must be present. sizes maps PartInfo hrefs
// to payload sizes in bytes where known (nil before the payloads are read);
// their total must not exceed MaxSize. Violations are EBMS:0010.
func (l *Leg) CheckPayloads(parts []ebms.PartInfo, sizes map[string]int64) error {
	pp := &l.PayloadProfile
	fail := func(field, format string, args ...any) error {
		return &ProfileError{Code: ebms.CodeProcessingModeMismatch, Leg: l.Name, Field: field, Detail: fmt.Sprintf(format, args...)}
	}
	if len(pp.Parts) > 0 {
		used := make([]bool, len(pp.Parts))
		for i := range parts {
			pi := &parts[i]
			name := partName(pi, i)
			idx, seen := -1, false
			for j := range pp.Parts {
				if pp.Parts[j].matches(pi) {
					seen = true
					if !used[j] {
						idx = j
						break
					}
				}
			}
			switch {
			case idx < 0 && seen:
				return fail("payload "+name, "is one more part of a kind the payload profile allows once (expects %s)", pp.describe())
			case idx < 0:
				return fail("payload "+name, "is not in the payload profile (expects %s)", pp.describe())
			}
			used[idx] = true
			want := pp.Parts[idx].MimeType
			got := pi.MimeType()
			if want != "" && !sameMediaType(got, want) {
				return fail("payload "+name, "has MimeType %s, expects %q", show(got), want)
			}
		}
		for j, p := range pp.Parts {
			if p.Required && !used[j] {
				return fail("payload "+p.label(), "is required but missing (PartInfo list: %s)", partList(parts))
			}
		}
	}
	if pp.MaxSize > 0 && sizes != nil {
		var total int64
		for _, pi := range parts {
			total += max(sizes[pi.Href], 0)
		}
		if total > pp.MaxSize {
			return fail("payloads", "total %d bytes, more than the limit of %d bytes", total, pp.MaxSize)
		}
	}
	return nil
}

func (p *PayloadPart) matches(pi *ebms.PartInfo) bool {
	if p.InBody {
		return pi.IsBodyPayload()
	}
	cid, ok := pi.ContentID()
	if !ok {
		return false
	}
	pattern := p.ContentID
	if len(pattern) >= 4 && strings.EqualFold(pattern[:4], "cid:") {
		pattern = pattern[4:]
	}
	return globFold(pattern, cid)
}

func (p *PayloadPart) label() string {
	switch {
	case p.InBody:
		return "SOAP Body"
	case strings.HasPrefix(strings.ToLower(p.ContentID), "cid:"):
		return fmt.Sprintf("%q", p.ContentID)
	}
	return fmt.Sprintf("%q", "cid:"+p.ContentID)
}

// describe lists the profile for error messages: cid:message text/xml required, ...
func (pp *PayloadProfile) describe() string {
	parts := make([]string, len(pp.Parts))
	for i, p := range pp.Parts {
		s := strings.Trim(p.label(), `"`)
		if p.MimeType != "" {
			s += " " + p.MimeType
		}
		if p.Required {
			s += " required"
		} else {
			s += " optional"
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}

func partName(pi *ebms.PartInfo, i int) string {
	if pi.IsBodyPayload() {
		return fmt.Sprintf("PartInfo[%d] (SOAP Body)", i+1)
	}
	return fmt.Sprintf("%q", pi.Href)
}

func partList(parts []ebms.PartInfo) string {
	if len(parts) == 0 {
		return "empty"
	}
	names := make([]string, len(parts))
	for i := range parts {
		names[i] = partName(&parts[i], i)
	}
	return strings.Join(names, ", ")
}

// sameMediaType compares MIME types without parameters, case-insensitively.
func sameMediaType(got, want string) bool {
	g, _, err1 := mime.ParseMediaType(got)
	w, _, err2 := mime.ParseMediaType(want)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(want))
	}
	return g == w
}

// globFold matches s against a pattern where '*' matches any run of
// characters, ignoring ASCII case. It is linear in practice: the classic
// backtrack-to-last-star algorithm.
func globFold(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// SecurityPolicy converts the leg's security settings into what an inbound
// signature on this leg must satisfy: signed when Sign (eb:Messaging, Body and
// every attachment covered, as eDelivery AS4 requires), with exactly the
// leg's signature and digest algorithms when it names them (a message signed
// otherwise breaks the P-Mode: EBMS:0103), else the eDelivery allow-list.
func (l *Leg) SecurityPolicy() wssec.Policy {
	p := wssec.DefaultPolicy()
	p.RequireSignature = l.Security.Sign
	if uri, ok := resolveAlg(algSignature, l.Security.SignatureAlgorithm); ok {
		p.SignatureMethods = []string{uri}
	}
	if uri, ok := resolveAlg(algDigest, l.Security.DigestAlgorithm); ok {
		p.DigestMethods = []string{uri}
	}
	return p
}

// ReceiptPolicy is what the signature of a receipt for a message sent on this
// leg must satisfy. Receipts carry no attachments; their algorithms are the
// peer's choice within the eDelivery allow-list, since a P-Mode names only the
// algorithms we sign with.
func (l *Leg) ReceiptPolicy() wssec.Policy {
	p := wssec.DefaultPolicy()
	p.RequireSignature = l.Security.RequireSignedReceipt
	p.RequireAllAttachments = false
	return p
}
