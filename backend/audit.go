package backend

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/as4gw/as4gw/store"
)

// auditRecordView is one record of GET /api/v1/audit: a message event with the evidence
// the SDK profile asks the audit log to keep.
type auditRecordView struct {
	Seq            uint64          `json:"seq"`
	Time           time.Time       `json:"time"`
	MessageID      string          `json:"messageId"`
	ConversationID string          `json:"conversationId,omitempty"`
	RefToMessageID string          `json:"refToMessageId,omitempty"`
	Direction      store.Direction `json:"direction"`
	Leg            string          `json:"leg,omitempty"`
	Service        string          `json:"service,omitempty"`
	ServiceType    string          `json:"serviceType,omitempty"`
	Action         string          `json:"action,omitempty"`
	PreviousStatus store.State     `json:"previousStatus,omitempty"`
	Status         store.State     `json:"status"`
	Outcome        string          `json:"outcome"`
	Reason         string          `json:"reason,omitempty"`
	Error          *store.Problem  `json:"error,omitempty"`
	HTTPStatus     int             `json:"httpStatus,omitempty"`
	Attempts       int             `json:"attempts,omitempty"`
	Participant    store.PartyID   `json:"participant"`
	From           store.PartyID   `json:"from,omitzero"`
	To             store.PartyID   `json:"to,omitzero"`
	OriginalSender store.PartyID   `json:"originalSender,omitzero"`
	FinalRecipient store.PartyID   `json:"finalRecipient,omitzero"`
	PeerAP         *peerAPView     `json:"peerAccessPoint,omitempty"`
	Signature      *signatureView  `json:"signature,omitempty"`
}

type peerAPView struct {
	PartyID           string `json:"partyId,omitempty"`
	Endpoint          string `json:"endpoint,omitempty"`
	CertificateSHA256 string `json:"certificateSha256,omitempty"`
}

type signatureView struct {
	ReceiptID     string    `json:"receiptId,omitempty"`
	ReceiptTime   time.Time `json:"receiptTime,omitzero"`
	NRRSHA256     string    `json:"nrrSha256,omitempty"`
	ReceiptSHA256 string    `json:"receiptSha256,omitempty"`
}

type auditPage struct {
	Records []auditRecordView `json:"records"`
	// Next is the after value of the next call; absent when there is nothing more.
	Next uint64 `json:"next,omitempty"`
}

// handleAudit is GET /api/v1/audit: the audit records of the client's participants,
// oldest first. Records are stored per participant (the local sender of an outbound
// message, the recipient of an inbound one), and the query names only the client's, so
// another organisation's records are never read, let alone returned.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, c *client) {
	q, p := parseAuditQuery(r, c)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	recs, next, err := s.store.ListAudit(r.Context(), q)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left
		}
		writeProblem(w, r, s.storeProblem(r, "reading the audit log", err))
		return
	}
	page := auditPage{Records: make([]auditRecordView, 0, len(recs)), Next: next}
	for i := range recs {
		// The store selected by participant already; this check keeps a mistake there
		// from becoming a disclosure.
		if !c.scope.set[recs[i].Owner] {
			continue
		}
		page.Records = append(page.Records, auditView(&recs[i]))
	}
	writeJSON(w, http.StatusOK, page)
}

// parseAuditQuery reads the query parameters; a problem names the offending one.
func parseAuditQuery(r *http.Request, c *client) (store.AuditQuery, *Problem) {
	v := r.URL.Query()
	q := store.AuditQuery{Parties: c.scope.match}
	var p *Problem
	if q.From, p = parseTimeParam(v.Get("from"), "from"); p != nil {
		return q, p
	}
	if q.To, p = parseTimeParam(v.Get("to"), "to"); p != nil {
		return q, p
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, invalid("to", "to (%s) must be after from (%s)", q.To.Format(time.RFC3339Nano), q.From.Format(time.RFC3339Nano))
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"messageId", &q.MessageID}, {"conversationId", &q.ConversationID}} {
		val := v.Get(f.name)
		if p := checkIDParam(f.name, val); p != nil {
			return q, p
		}
		*f.dst = val
	}
	if val := v.Get("participant"); val != "" {
		pid, err := participant(val, "")
		if err != nil {
			return q, invalid("participant", "participant: %v", err)
		}
		if !c.scope.own[pid] {
			return q, problem(kindForbidden, "participant", "%s is not one of this client's participants", pid)
		}
		q.Parties = []store.PartyID{pid}
		if pid.Type == DefaultParticipantType { // the same participant as received untyped
			q.Parties = append(q.Parties, store.PartyID{ID: pid.ID})
		}
	}
	if val := v.Get("after"); val != "" {
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return q, invalid("after", "after is a record sequence number (the next of the previous answer), not %q", val)
		}
		q.After = n
	}
	q.Limit, p = parseLimit(v.Get("limit"), 100, 1000)
	return q, p
}

func parseTimeParam(val, name string) (time.Time, *Problem) {
	if val == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, val)
	if err != nil {
		return time.Time{}, invalid(name, "%s is an RFC 3339 time such as 2026-01-31T12:00:00Z, not %q", name, val)
	}
	return t, nil
}

// checkIDParam bounds a MessageId or ConversationId filter as the store indexes them.
func checkIDParam(name, val string) *Problem {
	if len(val) > 1024 {
		return invalid(name, "%s is %d bytes long, at most 1024 allowed", name, len(val))
	}
	if !utf8.ValidString(val) {
		return invalid(name, "%s is not valid UTF-8", name)
	}
	for i := 0; i < len(val); i++ {
		if val[i] < 0x20 || val[i] == 0x7f {
			return invalid(name, "%s contains a control character at byte %d", name, i)
		}
	}
	return nil
}

func auditView(r *store.AuditRecord) auditRecordView {
	v := auditRecordView{
		Seq: r.Seq, Time: r.Time, MessageID: r.MessageID, ConversationID: r.ConversationID,
		RefToMessageID: r.RefToMessageID, Direction: r.Direction, Leg: r.Leg,
		Service: r.Service, ServiceType: r.ServiceType, Action: r.Action,
		PreviousStatus: r.FromState, Status: r.ToState, Outcome: r.Outcome, Reason: r.Reason,
		HTTPStatus: r.HTTPStatus, Attempts: r.Attempts, Participant: r.Owner,
		From: r.From, To: r.To, OriginalSender: r.OriginalSender, FinalRecipient: r.FinalRecipient,
	}
	if r.Error != (store.Problem{}) {
		e := r.Error
		v.Error = &e
	}
	if r.Peer != (store.PeerAP{}) {
		v.PeerAP = &peerAPView{PartyID: r.Peer.PartyID, Endpoint: r.Peer.Endpoint, CertificateSHA256: r.Peer.CertSHA256}
	}
	if sg := r.Signature; sg != nil {
		v.Signature = &signatureView{ReceiptID: sg.ReceiptID, ReceiptTime: sg.ReceiptTime}
		if !sg.NRRSHA256.IsZero() {
			v.Signature.NRRSHA256 = sg.NRRSHA256.String()
		}
		if !sg.ReceiptSHA256.IsZero() {
			v.Signature.ReceiptSHA256 = sg.ReceiptSHA256.String()
		}
	}
	return v
}
