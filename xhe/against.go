package xhe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/ebms"
)

// Names of the ebMS headers CheckAgainst compares, as Problem.Header reports them.
const (
	HeaderOriginalSender     = `eb:MessageProperties/eb:Property[@name="originalSender"]`
	HeaderFinalRecipient     = `eb:MessageProperties/eb:Property[@name="finalRecipient"]`
	HeaderOriginalSenderType = HeaderOriginalSender + "/@type"
	HeaderFinalRecipientType = HeaderFinalRecipient + "/@type"
	HeaderService            = "eb:CollaborationInfo/eb:Service"
	HeaderServiceType        = "eb:CollaborationInfo/eb:Service/@type"
	HeaderAction             = "eb:CollaborationInfo/eb:Action"
	HeaderConversationID     = "eb:CollaborationInfo/eb:ConversationId"
)

// CheckAgainst checks a received envelope and that the AS4 headers of its message agree with
// it (DIGG test TF-10):
//
//	finalRecipient = ToParty, originalSender = FromParty (values case-insensitively; a
//	property type, when given, must be the party's schemeID: SDK accepts a missing type),
//	Service = PROCESSID with type PROCESSID_SCHEME, Action = DOCUMENTID_SCHEME::DOCUMENTID,
//	ConversationId = Header/ID (case-insensitively).
//
// A broken envelope gives an *Error of KindMalformed (as Check); disagreement an *Error of
// KindContradiction listing every header that disagrees with the XHE element it names. Both
// mean: reject the message (see EBMSError), log the reason, never deliver it.
// CheckAgainst does not ask whether SDK carries the document type (the P-Mode leg decides).
func CheckAgainst(u *ebms.UserMessage, e *Envelope) error {
	if u == nil {
		return errors.New("xhe: CheckAgainst needs a UserMessage")
	}
	if err := e.Check(); err != nil {
		return err
	}
	want := e.headers()
	var probs []Problem
	mismatch := func(header, path, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Rule: RuleConsistency, Header: header, Msg: fmt.Sprintf(format, args...)})
	}

	party := func(name, header, headerType, partyName string, want ebms.Property) {
		path := e.partyPath(partyName)
		found := false
		for _, p := range u.MessageProperties {
			if p.Name != name {
				continue
			}
			found = true
			if v := trimXMLSpace(p.Value); !strings.EqualFold(v, want.Value) {
				mismatch(header, path, "%s %q disagrees with %s %q", name, v, partyName, want.Value)
			}
			if t := trimXMLSpace(p.Type); t != "" && !strings.EqualFold(t, want.Type) {
				mismatch(headerType, path+"/@schemeID", "%s type %q disagrees with %s schemeID %q", name, t, partyName, want.Type)
			}
		}
		if !found {
			mismatch(header, path, "no %s property; %s is %q", name, partyName, want.Value)
		}
	}
	party(ebms.PropertyFinalRecipient, HeaderFinalRecipient, HeaderFinalRecipientType, "ToParty", want.FinalRecipient)
	party(ebms.PropertyOriginalSender, HeaderOriginalSender, HeaderOriginalSenderType, "FromParty", want.OriginalSender)

	ci := &u.CollaborationInfo
	if v := trimXMLSpace(ci.Service.Value); v != want.Service.Value {
		mismatch(HeaderService, e.criterionPath(ScopeProcessID), "service %q disagrees with PROCESSID %q", v, want.Service.Value)
	}
	if v := trimXMLSpace(ci.Service.Type); v != want.Service.Type {
		mismatch(HeaderServiceType, e.criterionPath(ScopeProcessIDScheme), "service type %q disagrees with PROCESSID_SCHEME %q", v, want.Service.Type)
	}
	if v := trimXMLSpace(ci.Action); v != want.Action {
		mismatch(HeaderAction, e.criterionPath(ScopeDocumentID), "action %q disagrees with DOCUMENTID_SCHEME::DOCUMENTID %q", v, want.Action)
	}
	if v := trimXMLSpace(ci.ConversationID); !strings.EqualFold(v, want.ConversationID) {
		mismatch(HeaderConversationID, e.idPath(), "conversation id %q disagrees with Header/ID %q", v, want.ConversationID)
	}
	if len(probs) > 0 {
		return &Error{Kind: KindContradiction, Problems: probs}
	}
	return nil
}
