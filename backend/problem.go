package backend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem detail, the body of every error response
// (Content-Type application/problem+json).
type Problem struct {
	// Type identifies the kind of problem: "urn:as4gw:problem:<slug>".
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// Field names the offending input: a metadata member path ("payloads[0].id"), a query
	// parameter ("limit") or a header ("Authorization").
	Field string `json:"field,omitempty"`
	// Fields lists every field a P-Mode mismatch involves, when there are several.
	Fields []string `json:"fields,omitempty"`
	// MessageID and MessageStatus describe the existing message on a 409.
	MessageID     string `json:"messageId,omitempty"`
	MessageStatus string `json:"messageStatus,omitempty"`
}

func (p *Problem) Error() string {
	s := strconv.Itoa(p.Status) + " " + p.Title
	if p.Field != "" {
		s += " [" + p.Field + "]"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// problemKind is one row of the problem catalogue.
type problemKind struct {
	slug   string
	title  string
	status int
}

const (
	problemTypePrefix  = "urn:as4gw:problem:"
	problemContentType = "application/problem+json"
	jsonContentType    = "application/json"
)

// The problem catalogue. openapi.yaml lists the same types (a test checks).
var (
	kindInvalid      = problemKind{"invalid-request", "Invalid request", http.StatusBadRequest}
	kindUnauthorized = problemKind{"unauthorized", "Authentication required", http.StatusUnauthorized}
	kindForbidden    = problemKind{"forbidden", "Not allowed for this client", http.StatusForbidden}
	kindNotFound     = problemKind{"not-found", "Not found", http.StatusNotFound}
	kindMethod       = problemKind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed}
	kindDuplicate    = problemKind{"duplicate-message", "Message id already used", http.StatusConflict}
	kindState        = problemKind{"state-conflict", "Not possible in the message's state", http.StatusConflict}
	kindGone         = problemKind{"payload-deleted", "Payload deleted", http.StatusGone}
	kindPrecondition = problemKind{"precondition-failed", "Precondition failed", http.StatusPreconditionFailed}
	kindTooLarge     = problemKind{"too-large", "Request too large", http.StatusRequestEntityTooLarge}
	kindMediaType    = problemKind{"unsupported-media-type", "Unsupported media type", http.StatusUnsupportedMediaType}
	kindRange        = problemKind{"range-not-satisfiable", "Range not satisfiable", http.StatusRequestedRangeNotSatisfiable}
	kindPMode        = problemKind{"pmode-mismatch", "No P-Mode leg accepts this submission", http.StatusUnprocessableEntity}
	kindProfile      = problemKind{"pmode-profile", "Submission breaks the P-Mode leg's rules", http.StatusUnprocessableEntity}
	kindNoReceiver   = problemKind{"no-receiver", "No receiving access point known", http.StatusUnprocessableEntity}
	kindInternal     = problemKind{"internal", "Internal error", http.StatusInternalServerError}
	kindUnavailable  = problemKind{"unavailable", "Service unavailable", http.StatusServiceUnavailable}

	allProblemKinds = []problemKind{kindInvalid, kindUnauthorized, kindForbidden, kindNotFound, kindMethod,
		kindDuplicate, kindState, kindGone, kindPrecondition, kindTooLarge, kindMediaType, kindRange,
		kindPMode, kindProfile, kindNoReceiver, kindInternal, kindUnavailable, kindWebhookSecret, kindWebhookLimit}
)

// problem builds a Problem of a kind.
func problem(k problemKind, field, format string, args ...any) *Problem {
	return &Problem{Type: problemTypePrefix + k.slug, Title: k.title, Status: k.status,
		Field: field, Detail: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Problem {
	return problem(kindInvalid, field, format, args...)
}

// notFound is the one answer for unknown ids and for other clients' messages alike.
func notFound(what string) *Problem {
	return problem(kindNotFound, "", "%s not found", what)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	h := w.Header()
	h.Set("Content-Type", problemContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Content-Disposition")
	h.Del("Repr-Digest")
	h.Del("Digest")
	w.WriteHeader(p.Status)
	b, _ := json.Marshal(p)
	w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, nil, problem(kindInternal, "", "encoding the response: %v", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
