package backend

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/as4gw/as4gw/store"
)

// messageView is GET /api/v1/messages/{messageId}.
type messageView struct {
	MessageID      string           `json:"messageId"`
	Direction      store.Direction  `json:"direction"`
	Status         store.State      `json:"status"`
	Leg            string           `json:"leg,omitempty"`
	From           store.PartyID    `json:"from,omitzero"`
	To             store.PartyID    `json:"to,omitzero"`
	OriginalSender store.PartyID    `json:"originalSender,omitzero"`
	FinalRecipient store.PartyID    `json:"finalRecipient,omitzero"`
	Service        string           `json:"service,omitempty"`
	ServiceType    string           `json:"serviceType,omitempty"`
	Action         string           `json:"action,omitempty"`
	ConversationID string           `json:"conversationId,omitempty"`
	RefToMessageID string           `json:"refToMessageId,omitempty"`
	AgreementRef   string           `json:"agreementRef,omitempty"`
	Properties     []store.Property `json:"properties,omitempty"`
	Created        time.Time        `json:"created"`
	Updated        time.Time        `json:"updated"`
	NextAttempt    time.Time        `json:"nextAttempt,omitzero"`
	Attempts       []attemptView    `json:"attempts,omitempty"`
	Receipt        *receiptView     `json:"receipt,omitempty"`
	Payloads       []payloadView    `json:"payloads"`
	History        []historyView    `json:"history,omitempty"`
}

type attemptView struct {
	At         time.Time      `json:"at"`
	HTTPStatus int            `json:"httpStatus,omitempty"`
	Error      *store.Problem `json:"error,omitempty"`
	// Peer is the access point the attempt went to (for receivers found by discovery
	// the only place the backend sees it).
	Peer *store.PeerAP `json:"peer,omitempty"`
}

type receiptView struct {
	MessageID string          `json:"messageId,omitempty"`
	Time      time.Time       `json:"time,omitzero"`
	Warnings  []store.Problem `json:"warnings,omitempty"`
}

type payloadView struct {
	ID         string           `json:"id"`
	MimeType   string           `json:"mimeType,omitempty"`
	FileName   string           `json:"fileName,omitempty"`
	Size       int64            `json:"size"`
	SHA256     string           `json:"sha256"`
	Properties []store.Property `json:"properties,omitempty"`
	// Deleted: the bytes are gone (the message was DELETED); size and sha256 remain.
	Deleted bool `json:"deleted,omitempty"`
}

type historyView struct {
	Seq            uint64      `json:"seq"`
	Time           time.Time   `json:"time"`
	PreviousStatus store.State `json:"previousStatus,omitempty"`
	Status         store.State `json:"status"`
	Reason         string      `json:"reason,omitempty"`
}

// inboxItem is one entry of GET /api/v1/inbox.
type inboxItem struct {
	MessageID      string           `json:"messageId"`
	ConversationID string           `json:"conversationId,omitempty"`
	RefToMessageID string           `json:"refToMessageId,omitempty"`
	Status         store.State      `json:"status"`
	From           store.PartyID    `json:"from,omitzero"`
	OriginalSender store.PartyID    `json:"originalSender,omitzero"`
	FinalRecipient store.PartyID    `json:"finalRecipient,omitzero"`
	Service        string           `json:"service,omitempty"`
	ServiceType    string           `json:"serviceType,omitempty"`
	Action         string           `json:"action,omitempty"`
	Properties     []store.Property `json:"properties,omitempty"`
	Received       time.Time        `json:"received"`
	Payloads       []payloadView    `json:"payloads"`
}

type inboxPage struct {
	Messages []inboxItem `json:"messages"`
	// Next continues the listing; empty when this page is the last.
	Next string `json:"next"`
}

type ackResponse struct {
	MessageID string      `json:"messageId"`
	Status    store.State `json:"status"`
}

func payloadViews(ps []store.Payload) []payloadView {
	out := make([]payloadView, 0, len(ps))
	for _, p := range ps {
		out = append(out, payloadView{ID: p.ID, MimeType: p.MimeType, FileName: p.FileName, Size: p.Size,
			SHA256: p.SHA256.String(), Properties: p.Properties, Deleted: p.Blob == ""})
	}
	return out
}

func viewOf(m *store.Message, hist []store.Event) messageView {
	v := messageView{
		MessageID: m.ID, Direction: m.Direction, Status: m.State, Leg: m.LegName,
		From: m.From, To: m.To, OriginalSender: m.OriginalSender, FinalRecipient: m.FinalRecipient,
		Service: m.Service, ServiceType: m.ServiceType, Action: m.Action,
		ConversationID: m.ConversationID, RefToMessageID: m.RefToMessageID, AgreementRef: m.AgreementRef,
		Properties: m.Properties, Created: m.Created, Updated: m.Updated,
		Payloads: payloadViews(m.Payloads),
	}
	if m.State == store.SendEnqueued || m.State == store.WaitingForRetry {
		v.NextAttempt = m.NextAttempt
	}
	for _, a := range m.Attempts {
		av := attemptView{At: a.At, HTTPStatus: a.HTTPStatus}
		if a.Peer != (store.PeerAP{}) {
			p := a.Peer
			av.Peer = &p
		}
		if a.Error != (store.Problem{}) {
			e := a.Error
			av.Error = &e
		}
		v.Attempts = append(v.Attempts, av)
	}
	if r := m.Receipt; r != nil && (r.MessageID != "" || !r.Time.IsZero()) {
		v.Receipt = &receiptView{MessageID: r.MessageID, Time: r.Time, Warnings: r.Warnings}
	}
	for _, e := range hist {
		v.History = append(v.History, historyView{Seq: e.Seq, Time: e.Time, PreviousStatus: e.From, Status: e.To, Reason: e.Reason})
	}
	return v
}

// parseDirection reads ?direction=in|out ("" means: outbound, then inbound).
func parseDirection(r *http.Request) (store.Direction, *Problem) {
	switch d := r.URL.Query().Get("direction"); d {
	case "":
		return "", nil
	case "in", "inbound":
		return store.Inbound, nil
	case "out", "outbound":
		return store.Outbound, nil
	default:
		return "", invalid("direction", "direction is \"in\" or \"out\", not %q", d)
	}
}

// lookup finds the message a client asks for by MessageId (see the package documentation
// for the rule). Messages the client may not see are treated exactly as absent ones.
func (s *Server) lookup(ctx context.Context, r *http.Request, c *client, id string, dir store.Direction) (*store.Message, *Problem) {
	if dir == "" || dir == store.Outbound {
		ms, err := s.store.Find(ctx, store.Outbound, id)
		if err != nil && !errors.Is(err, store.ErrInvalid) { // an invalid id names no message
			return nil, s.storeProblem(r, "looking up the message", err)
		}
		for i := range ms {
			if c.scope.visible(&ms[i]) {
				return &ms[i], nil
			}
		}
		if dir == store.Outbound {
			return nil, notFound("message")
		}
	}
	ms, err := s.store.Find(ctx, store.Inbound, id)
	if err != nil && !errors.Is(err, store.ErrInvalid) {
		return nil, s.storeProblem(r, "looking up the message", err)
	}
	var vis []*store.Message
	for i := range ms {
		if c.scope.visible(&ms[i]) {
			vis = append(vis, &ms[i])
		}
	}
	if len(vis) == 0 {
		return nil, notFound("message")
	}
	slices.SortFunc(vis, func(a, b *store.Message) int { return cmpKey(a.Key, b.Key) })
	for _, m := range vis {
		if m.State == store.Received || m.State == store.ReceivedWithWarnings {
			return m, nil // the oldest still in the inbox
		}
	}
	return vis[len(vis)-1], nil
}

func cmpKey(a, b store.Key) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// handleGetMessage is GET /api/v1/messages/{messageId}.
func (s *Server) handleGetMessage(w http.ResponseWriter, r *http.Request, c *client) {
	dir, p := parseDirection(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	m, p := s.lookup(r.Context(), r, c, r.PathValue("messageId"), dir)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	hist, err := s.store.History(r.Context(), m.Key)
	if err != nil {
		writeProblem(w, r, s.storeProblem(r, "reading the message history", err))
		return
	}
	writeJSON(w, http.StatusOK, viewOf(m, hist))
}

// handleInbox is GET /api/v1/inbox.
func (s *Server) handleInbox(w http.ResponseWriter, r *http.Request, c *client) {
	q := r.URL.Query()
	limit, p := parseLimit(q.Get("limit"), 100, 1000)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	msgs, next, err := s.store.Inbox(r.Context(), store.InboxQuery{Recipients: c.scope.match, After: store.Cursor(q.Get("cursor")), Limit: limit})
	if errors.Is(err, store.ErrInvalid) {
		writeProblem(w, r, invalid("cursor", "cursor %q is not one a previous page returned as next", q.Get("cursor")))
		return
	}
	if err != nil {
		writeProblem(w, r, s.storeProblem(r, "listing the inbox", err))
		return
	}
	page := inboxPage{Messages: []inboxItem{}, Next: string(next)}
	for i := range msgs {
		m := &msgs[i]
		if !c.scope.visible(m) { // cannot happen (the query is the scope); never leak
			continue
		}
		page.Messages = append(page.Messages, inboxItem{
			MessageID: m.ID, ConversationID: m.ConversationID, RefToMessageID: m.RefToMessageID, Status: m.State,
			From: m.From, OriginalSender: m.OriginalSender, FinalRecipient: m.FinalRecipient,
			Service: m.Service, ServiceType: m.ServiceType, Action: m.Action, Properties: m.Properties,
			Received: m.Created, Payloads: payloadViews(m.Payloads),
		})
	}
	writeJSON(w, http.StatusOK, page)
}

func parseLimit(s string, def, max int) (int, *Problem) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, invalid("limit", "limit is a whole number from 1 to %d, not %q", max, s)
	}
	return n, nil
}

// handleDownload is GET /api/v1/messages/{messageId}/payloads/{payloadId}: the payload's
// bytes, streamed, with Range support, ETag and Repr-Digest (sha-256).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request, c *client) {
	dir, p := parseDirection(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	m, p := s.lookup(r.Context(), r, c, r.PathValue("messageId"), dir)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	pid := r.PathValue("payloadId")
	var pl *store.Payload
	for i := range m.Payloads {
		if m.Payloads[i].ID == pid {
			pl = &m.Payloads[i]
			break
		}
	}
	if pl == nil {
		writeProblem(w, r, notFound("payload"))
		return
	}
	gone := problem(kindGone, "", "the payload of message %q was deleted (status %s); only its size and sha256 remain", m.ID, m.State)
	if pl.Blob == "" {
		writeProblem(w, r, gone)
		return
	}
	f, err := s.store.OpenPayload(r.Context(), pl.Blob)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, gone)
		return
	}
	if err != nil {
		writeProblem(w, r, s.storeProblem(r, "opening the payload", err))
		return
	}
	defer f.Close()
	h := w.Header()
	ct := pl.MimeType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	name := pl.FileName
	if name == "" {
		name = pl.ID
	}
	if cd := mime.FormatMediaType("attachment", map[string]string{"filename": name}); cd != "" {
		h.Set("Content-Disposition", cd)
	}
	if pl.Compressed { // stored as AS4-gzip: serve the payload itself
		zr, err := gzip.NewReader(f)
		if err != nil {
			writeProblem(w, r, s.storeProblem(r, "decompressing the payload", err))
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, zr)
		}
		return
	}
	h.Set("ETag", `"`+pl.SHA256.String()+`"`)
	b64 := base64.StdEncoding.EncodeToString(pl.SHA256[:])
	h.Set("Repr-Digest", "sha-256=:"+b64+":") // RFC 9530
	h.Set("Digest", "sha-256="+b64)           // RFC 3230, for older clients
	if rs, ok := f.(io.ReadSeeker); ok {
		// Range, If-None-Match, If-Match, HEAD, Content-Length; its errors become problems.
		http.ServeContent(&problemOnError{ResponseWriter: w, r: r}, r, "", time.Time{}, rs)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(pl.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, f)
	}
}

// handleAck is POST /api/v1/messages/{messageId}/ack: the client has the message;
// it leaves the inbox as DOWNLOADED. Repeating it is harmless.
func (s *Server) handleAck(w http.ResponseWriter, r *http.Request, c *client) {
	dir, p := parseDirection(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	if dir == store.Outbound {
		writeProblem(w, r, invalid("direction", "only received (inbound) messages are acknowledged"))
		return
	}
	m, p := s.lookup(r.Context(), r, c, r.PathValue("messageId"), store.Inbound)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	out, err := s.store.MarkDownloaded(r.Context(), m.Key)
	switch {
	case errors.Is(err, store.ErrIllegalTransition):
		writeProblem(w, r, problem(kindState, "", "message %q is %s and cannot become %s", m.ID, m.State, store.Downloaded))
		return
	case err != nil:
		writeProblem(w, r, s.storeProblem(r, "acknowledging the message", err))
		return
	}
	s.log.Info("message downloaded", "messageId", out.ID, "conversationId", out.ConversationID, "client", c.name,
		"originalSender", out.OriginalSender.String(), "finalRecipient", out.FinalRecipient.String(), "outcome", string(out.State))
	writeJSON(w, http.StatusOK, ackResponse{MessageID: out.ID, Status: out.State})
}

// problemOnError turns the plain-text errors of http.ServeContent (412, 416) into problems.
type problemOnError struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (w *problemOnError) WriteHeader(code int) {
	if code < 400 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	var p *Problem
	switch code {
	case http.StatusRequestedRangeNotSatisfiable:
		p = problem(kindRange, "Range", "the Range %q is not within the payload (Content-Range tells its size)", w.r.Header.Get("Range"))
	case http.StatusPreconditionFailed:
		p = problem(kindPrecondition, "If-Match", "the payload's ETag does not match If-Match %q", w.r.Header.Get("If-Match"))
	default:
		p = problem(kindInvalid, "", "%s", http.StatusText(code))
		p.Status = code
	}
	cr := w.Header().Get("Content-Range")
	writeProblem(w.ResponseWriter, w.r, p)
	if cr != "" {
		w.Header().Set("Content-Range", cr)
	}
}

func (w *problemOnError) ReadFrom(r io.Reader) (int64, error) {
	if w.swallow {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

func (w *problemOnError) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
