package wssec

import (
	"fmt"

	"github.com/as4gw/as4gw/ebms"
)

// Error is a WS-Security processing failure. Code is the EBMS error code to
// answer with (EBMS:0101 FailedAuthentication, EBMS:0102 FailedDecryption,
// EBMS:0103 PolicyNoncompliance, EBMS:0302 InvalidReceipt); Check names the rule
// that failed (stable, for logs, metrics and tests); Detail says what was found.
type Error struct {
	Code   ebms.Code
	Check  string
	Detail string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Code, e.Check, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func authError(check, format string, args ...any) *Error {
	return &Error{Code: ebms.CodeFailedAuthentication, Check: check, Detail: fmt.Sprintf(format, args...)}
}

func policyError(check, format string, args ...any) *Error {
	return &Error{Code: ebms.CodePolicyNoncompliance, Check: check, Detail: fmt.Sprintf(format, args...)}
}

func receiptError(check, format string, args ...any) *Error {
	return &Error{Code: ebms.CodeInvalidReceipt, Check: check, Detail: fmt.Sprintf(format, args...)}
}
