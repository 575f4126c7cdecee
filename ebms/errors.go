package ebms

import "fmt"

// ValidationError reports an eb:Messaging header that cannot be accepted. Code is the EBMS
// error code the receiving MSH should answer with, Element the path of the offending element
// (always written with the canonical prefixes eb:, ebbp:, ds:, whatever the message used, e.g.
// "eb:Messaging/eb:UserMessage/eb:MessageInfo/eb:MessageId"; repeated elements carry a 1-based
// index such as "eb:PartInfo[2]" when there is more than one), and Detail says what is wrong.
//
// Use errors.As to get it from an error returned by Decode.
type ValidationError struct {
	Code    Code
	Element string
	Detail  string
}

func (e *ValidationError) Error() string {
	name := e.Code.ShortDescription()
	if name == "" {
		return fmt.Sprintf("ebms: %s at %s: %s", e.Code, e.Element, e.Detail)
	}
	return fmt.Sprintf("ebms: %s %s at %s: %s", e.Code, name, e.Element, e.Detail)
}

// SignalError turns the validation error into the eb:Error to send back, referring to the
// message in error (which may be "" when its MessageId could not be read).
func (e *ValidationError) SignalError(refToMessageInError string) Error {
	return e.Code.NewError(refToMessageInError, e.Element+": "+e.Detail)
}

func newError(code Code, element, format string, args ...any) *ValidationError {
	return &ValidationError{Code: code, Element: element, Detail: fmt.Sprintf(format, args...)}
}
