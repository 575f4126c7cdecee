package xhe

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/ebms"
)

// Kind classifies an *Error for the MSH (see the package documentation for the ebMS codes).
type Kind int

const (
	// KindMalformed: the payload is not a well-formed XHE, exceeds a limit, or breaks a rule
	// of DIGG's XHE profile.
	KindMalformed Kind = iota + 1
	// KindContradiction: a valid XHE that disagrees with the AS4 headers of its message.
	KindContradiction
	// KindUnsupported: a valid XHE naming a document id scheme, process scheme or transport
	// model the SDK transport profile does not carry.
	KindUnsupported
)

func (k Kind) String() string {
	switch k {
	case KindMalformed:
		return "malformed XHE"
	case KindContradiction:
		return "XHE contradicts AS4 headers"
	case KindUnsupported:
		return "XHE not supported by the SDK transport profile"
	}
	return fmt.Sprintf("xhe.Kind(%d)", int(k))
}

// Rule ids (see the package documentation for their sources).
const (
	RuleR1          = "R1-XHE"
	RuleR2          = "R2-XHE"
	RuleR3          = "R3-XHE"
	RuleR4          = "R4-XHE"
	RuleR5          = "R5-XHE"
	RuleR6          = "R6-XHE"
	RuleR7          = "R7-XHE"
	RuleR8          = "R8-XHE"
	RuleR9          = "R9-XHE"
	RuleR10         = "R10-XHE"
	RuleR11         = "R11-XHE"
	RuleR12         = "R12-XHE"
	RuleR13         = "R13-XHE"
	RuleR14         = "R14-XHE"
	RuleSchema      = "XHE-XSD"
	RuleUUID        = "SDK-UUID"
	RuleZone        = "SDK-ZONE"
	RuleOneParty    = "SDK-PARTY"
	RuleParticipant = "SDK-PARTICIPANT"
	RuleScopeUnique = "AP-SCOPE-UNIQUE"
	RuleTransport   = "SDK-TRANSPORT"
	RuleConsistency = "SDK-CONSISTENCY"
	// RuleXML marks a document that is not well-formed or not allowed XML (DOCTYPE, PI...).
	RuleXML = "XML"
	// RuleLimit marks input beyond Limits.
	RuleLimit = "LIMIT"
)

// Problem is one violation.
type Problem struct {
	// Path is the XHE element concerned, by local names from the root, with a 1-based index
	// where siblings share a name: "XHE/Header/BusinessScope/BusinessScopeCriterion[2]".
	// Attributes are appended as "/@name". "" when the document has no usable element.
	Path string
	// Rule is one of the Rule* ids.
	Rule string
	// Header is, for KindContradiction, the ebMS header that disagrees with Path, e.g.
	// "eb:CollaborationInfo/eb:Action"; "" otherwise.
	Header string
	// Msg says what is wrong, with the offending values quoted.
	Msg string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Header != "" {
		b.WriteString(p.Header)
		b.WriteString(" vs ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Rule != "" {
		b.WriteString(" [")
		b.WriteString(p.Rule)
		b.WriteString("]")
	}
	return b.String()
}

// Error is every envelope-related error of this package: one Kind and all Problems found.
type Error struct {
	Kind     Kind
	Problems []Problem
	// Err is the underlying cause for parse failures (an encoding/xml error or a
	// *LimitError); nil otherwise.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("xhe: ")
	b.WriteString(e.Kind.String())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns the underlying parse error, if any.
func (e *Error) Unwrap() error { return e.Err }

// HasRule reports whether any problem carries the rule id.
func (e *Error) HasRule(rule string) bool {
	for _, p := range e.Problems {
		if p.Rule == rule {
			return true
		}
	}
	return false
}

// maxDetail caps the text EBMSError puts into eb:ErrorDetail and eb:Description.
const maxDetail = 1024

// EBMSError builds the ebMS error signal the package documentation maps the Kind to:
// EBMS:0004 in every case, ErrorDetail NOT_SERVICED for contradictions and unsupported
// document types, the problems themselves for a malformed XHE. The description lists the
// problems (truncated to 1 KiB).
func (e *Error) EBMSError(refToMessageInError string) ebms.Error {
	reasons := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		reasons[i] = p.String()
	}
	text := truncate(e.Kind.String()+": "+strings.Join(reasons, "; "), maxDetail)
	detail := "NOT_SERVICED"
	if e.Kind == KindMalformed {
		detail = text
	}
	sig := ebms.CodeOther.NewError(refToMessageInError, detail)
	sig.Description = &ebms.Description{Lang: "en", Text: text}
	return sig
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func malformed(problems ...Problem) *Error {
	return &Error{Kind: KindMalformed, Problems: problems}
}
