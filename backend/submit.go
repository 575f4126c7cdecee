package backend

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// submitResponse is the 202 body.
type submitResponse struct {
	MessageID      string      `json:"messageId"`
	ConversationID string      `json:"conversationId"`
	Status         store.State `json:"status"`
}

// handleSubmit is POST /api/v1/messages.
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request, c *client) {
	ctx := r.Context()
	up := &upload{s: s}
	defer up.discard()
	m, p := s.readSubmission(w, r, c, up)
	if p != nil {
		s.rejected(r, c, m, p)
		writeProblem(w, r, p)
		return
	}
	stored, err := s.store.Submit(ctx, *m)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		p = s.duplicate(c, m.ID, []store.Message{stored})
	case errors.Is(err, store.ErrInvalid):
		// The checks above should have caught it; it is still the input's fault.
		p = invalid("", "the message store refused the message: %v", err)
	case err != nil:
		p = s.storeProblem(r, "storing the message", err)
	}
	if p != nil {
		s.rejected(r, c, m, p)
		writeProblem(w, r, p)
		return
	}
	up.committed = true
	s.log.Info("message submitted", "messageId", stored.ID, "conversationId", stored.ConversationID,
		"client", c.name, "originalSender", stored.OriginalSender.String(), "finalRecipient", stored.FinalRecipient.String(),
		"to", stored.To.String(), "leg", stored.LegName, "payloads", len(stored.Payloads), "outcome", string(stored.State))
	w.Header().Set("Location", apiPrefix+"/messages/"+url.PathEscape(stored.ID))
	writeJSON(w, http.StatusAccepted, submitResponse{MessageID: stored.ID, ConversationID: stored.ConversationID, Status: stored.State})
}

func (s *Server) rejected(r *http.Request, c *client, m *store.Message, p *Problem) {
	attrs := []any{"client", c.name, "status", p.Status, "field", p.Field, "detail", p.Detail, "outcome", "rejected"}
	if m != nil {
		attrs = append(attrs, "messageId", m.ID, "originalSender", m.OriginalSender.String(), "finalRecipient", m.FinalRecipient.String())
	}
	s.log.Info("submission rejected", attrs...)
}

// duplicate answers a MessageId that is taken. The existing message's status is told only
// to a client that may see it.
func (s *Server) duplicate(c *client, id string, existing []store.Message) *Problem {
	p := problem(kindDuplicate, "messageId", "messageId %q is already used by an outbound message; every submission needs a new id", id)
	p.MessageID = id
	for i := range existing {
		if c.scope.visible(&existing[i]) {
			p.MessageStatus = string(existing[i].State)
			p.Detail = fmt.Sprintf("messageId %q was submitted already and is %s; a resubmission needs a new id", id, existing[i].State)
		}
	}
	return p
}

// upload tracks the payload blobs staged for one submission, to discard them on failure.
type upload struct {
	s         *Server
	refs      []store.BlobRef
	committed bool
}

func (u *upload) discard() {
	if u.committed {
		return
	}
	ctx := context.Background() // the request may be gone; the files must go anyway
	for _, ref := range u.refs {
		if err := u.s.store.DiscardPayload(ctx, ref); err != nil {
			u.s.log.Warn("backend: discarding a staged payload failed; the orphan sweep will remove it", "blob", string(ref), "error", err)
		}
	}
}

// uploadBuffers hold the read buffers of submissions (256 KiB each: allocating one per
// small submission would cost more than it saves).
var uploadBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 256<<10) }}

// readSubmission reads and checks the whole request and stages the payloads. The message
// it returns is ready for Submit. With a problem it may return the message so far (for the
// log).
func (s *Server) readSubmission(w http.ResponseWriter, r *http.Request, c *client, up *upload) (*store.Message, *Problem) {
	ctx := r.Context()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, problem(kindMediaType, "Content-Type", "a submission is multipart/form-data (a \"metadata\" JSON part, then one file part per payload); got %q", r.Header.Get("Content-Type"))
	}
	if params["boundary"] == "" {
		return nil, invalid("Content-Type", "the multipart/form-data Content-Type has no boundary parameter")
	}
	if r.ContentLength > s.limits.MaxRequestBytes {
		return nil, problem(kindTooLarge, "payloads", "the request is %d bytes, more than the limit of %d bytes", r.ContentLength, s.limits.MaxRequestBytes)
	}
	body := http.MaxBytesReader(w, r.Body, s.limits.MaxRequestBytes)
	// multipart reads 4 KiB at a time; a larger buffer below it saves most of the read
	// calls on large uploads (measured: ~1.7 s of CPU per GiB).
	br := uploadBuffers.Get().(*bufio.Reader)
	br.Reset(body)
	defer func() { br.Reset(nil); uploadBuffers.Put(br) }()
	mr := multipart.NewReader(br, params["boundary"])

	// 1. The metadata, first.
	part, err := mr.NextPart()
	if err != nil {
		return nil, s.multipartProblem(err, metadataPart, "reading the metadata part")
	}
	if name := part.FormName(); name != metadataPart {
		return nil, invalid(metadataPart, "the first part must be the \"metadata\" JSON; got a part named %q (payload parts follow the metadata)", name)
	}
	if ct := part.Header.Get("Content-Type"); ct != "" {
		pmt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(pmt == "application/json" || strings.HasSuffix(pmt, "+json") || pmt == "text/plain") {
			return nil, problem(kindMediaType, metadataPart, "the metadata part must be application/json; it is %q", ct)
		}
	}
	rec := &recordingReader{r: part}
	sub, p := decodeMetadata(rec, s.limits.MaxMetadataBytes, s.limits.MaxPayloads)
	if rec.err != nil {
		return nil, s.multipartProblem(rec.err, metadataPart, "reading the metadata part")
	}
	if p != nil {
		return nil, p
	}
	fromXHE, p := s.headersFromXHE(ctx, mr, sub, c, up) // xhe_submit.go: headers left to the XHE payload
	if p != nil {
		return nil, p
	}

	// 2. Who may send what: checked before a payload byte is read.
	if !c.scope.own[sub.originalSender] {
		return nil, problem(kindForbidden, "originalSender", "client %q may not send as originalSender %s; it sends for %s",
			c.name, sub.originalSender, participantList(c.scope))
	}
	if sub.messageID != "" {
		ex, err := s.store.Find(ctx, store.Outbound, sub.messageID)
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			return nil, s.storeProblem(r, "looking up messageId", err)
		}
		if len(ex) > 0 {
			return nil, s.duplicate(c, sub.messageID, ex)
		}
	} else {
		sub.messageID = ebms.NewMessageID(s.idDomain)
	}
	conversationGiven := sub.conversationID != ""
	if !conversationGiven {
		sub.conversationID = newUUID()
	}
	m := &store.Message{
		ID: sub.messageID, From: s.party, OriginalSender: sub.originalSender, FinalRecipient: sub.finalRecipient,
		Service: sub.service, ServiceType: sub.serviceType, Action: sub.action,
		ConversationID: sub.conversationID, RefToMessageID: sub.refToMessageID, AgreementRef: sub.agreementRef,
		Properties: sub.properties,
	}
	psub := pmode.Submission{
		Service: sub.service, ServiceType: sub.serviceType, Action: sub.action,
		OriginalSender: sub.originalSender.ID, OriginalSenderType: sub.originalSender.Type,
		FinalRecipient: sub.finalRecipient.ID, FinalRecipientType: sub.finalRecipient.Type,
		ToPartyID: sub.toPartyID, ToPartyType: sub.toPartyType,
		AgreementRef: sub.agreementRef, AgreementRefType: sub.agreementType,
	}
	for _, pr := range sub.properties {
		psub.Properties = append(psub.Properties, ebms.Property{Name: pr.Name, Type: pr.Type, Value: pr.Value})
	}
	leg, err := s.live().pmodes.MatchOutbound(psub)
	if err != nil {
		return m, pmodeProblem(err, sub)
	}
	m.LegName = leg.Name
	if p := s.receiver(leg, psub, m); p != nil {
		return m, p
	}
	parts := partInfos(sub.payloads)
	if err := leg.CheckPayloads(parts, nil); err != nil {
		return m, pmodeProblem(err, sub)
	}

	// 3. The payloads, streamed into the store as they arrive.
	got := make([]*store.Payload, len(sub.payloads))
	var total int64
	if fromXHE != nil {
		got[fromXHE.idx], total = fromXHE.payload, fromXHE.payload.Size
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, s.multipartProblem(err, "payloads", "reading the next payload part")
		}
		name := part.FormName()
		idx := -1
		for i := range sub.payloads {
			if sub.payloads[i].id == name {
				idx = i
				break
			}
		}
		switch {
		case name == "":
			return m, invalid("payloads", "a part has no name; each file part is named by its payload id (Content-Disposition: form-data; name=\"<id>\")")
		case name == metadataPart:
			return m, invalid(metadataPart, "the metadata part is sent twice")
		case idx < 0:
			return m, invalid("payloads", "the file part %q is not declared in metadata payloads (declared: %s)", name, declaredList(sub.payloads))
		case got[idx] != nil:
			return m, invalid(fmt.Sprintf("payloads[%d]", idx), "the file part %q is sent twice", name)
		}
		field := fmt.Sprintf("payloads[%d]", idx)
		if cte := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); cte != "" && cte != "binary" && cte != "8bit" && cte != "7bit" {
			return m, invalid(field, "Content-Transfer-Encoding %q is not supported: send the payload's bytes as they are (binary)", cte)
		}
		limit := int64(math.MaxInt64)
		if max := leg.PayloadProfile.MaxSize; max > 0 {
			limit = max - total
		}
		cr := &capReader{recordingReader: recordingReader{r: part}, left: limit}
		blob, err := s.store.PutPayload(ctx, cr)
		if err != nil {
			switch {
			case cr.over:
				return m, problem(kindTooLarge, field, "the payloads of leg %q may total at most %d bytes (its payload profile's maxSize); %q goes beyond it",
					leg.Name, leg.PayloadProfile.MaxSize, name)
			case cr.err != nil:
				return m, s.multipartProblem(cr.err, field, fmt.Sprintf("reading the file part %q", name))
			}
			return m, s.storeProblem(r, "storing a payload", err)
		}
		up.refs = append(up.refs, blob.Ref)
		total += blob.Size
		pl := &store.Payload{ID: name, ContentID: name, MimeType: sub.payloads[idx].mimeType,
			Properties: sub.payloads[idx].properties, Blob: blob.Ref, Size: blob.Size, SHA256: blob.SHA256}
		if fn := part.FileName(); fn != "" && fn != "." && fn != "/" && checkText("", fn, maxIDLen, false) == nil {
			pl.FileName = fn
		}
		got[idx] = pl
	}
	sizes := map[string]int64{}
	for i, g := range got {
		if g == nil {
			return m, invalid(fmt.Sprintf("payloads[%d]", i), "payload %q is declared but no file part named %q follows", sub.payloads[i].id, sub.payloads[i].id)
		}
		m.Payloads = append(m.Payloads, *g)
		sizes[parts[i].Href] = g.Size
	}
	if err := leg.CheckPayloads(parts, sizes); err != nil {
		return m, pmodeProblem(err, sub)
	}
	if leg.Envelope == pmode.EnvelopeXHE && fromXHE == nil {
		// All headers were given: the envelope must still agree with them, or the
		// receiving access point refuses the message (TF-10); without a given
		// conversationId it is the envelope's Header/ID, not a random one.
		if !conversationGiven {
			sub.conversationID = ""
		}
		if p := s.checkGivenAgainstXHE(ctx, sub, m); p != nil {
			return m, p
		}
		m.ConversationID = sub.conversationID
	}
	return m, nil
}

// receiver fills the To party from the leg's responder. Without a configured party with
// an endpoint there is nowhere to send unless discovery is on.
func (s *Server) receiver(leg *pmode.Leg, psub pmode.Submission, m *store.Message) *Problem {
	field := "finalRecipient"
	if psub.ToPartyID != "" {
		field = "toPartyId"
	}
	party, pid, err := s.live().pmodes.Responder(leg, psub)
	if err != nil {
		return problem(kindNoReceiver, "toPartyId", "%s", strings.TrimPrefix(err.Error(), "pmode: "))
	}
	if party == nil && pid.Value == "" && s.discovery && !m.FinalRecipient.IsZero() {
		// The sender finds the receiving access point from the finalRecipient when it
		// sends; a lookup that fails becomes the message's failure event, with its reason.
		return nil
	}
	if party == nil || party.Endpoint == "" || len(party.PartyIDs) == 0 {
		who := fmt.Sprintf("finalRecipient %s", m.FinalRecipient)
		if pid.Value != "" || psub.ToPartyID != "" {
			who = fmt.Sprintf("toPartyId %q", psub.ToPartyID)
		}
		how := fmt.Sprintf("leg %q sends to access points found by dynamic discovery (SML/SMP), which is not configured on this gateway (discovery:)", leg.Name)
		if party != nil {
			how = fmt.Sprintf("party %q of leg %q has no endpoint configured", party.Name, leg.Name)
		}
		return problem(kindNoReceiver, field, "no receiving access point known for %s: %s; configure the receiving party with its endpoint in the P-Modes (and name it in toPartyId)", who, how)
	}
	id := party.PartyIDs[0]
	if psub.ToPartyID != "" {
		for _, cand := range party.PartyIDs {
			if strings.EqualFold(cand.Value, psub.ToPartyID) && (psub.ToPartyType == "" || strings.EqualFold(cand.Type, psub.ToPartyType)) {
				id = cand
				break
			}
		}
	}
	m.To = store.PartyID{ID: id.Value, Type: id.Type}
	m.PeerAP = store.PeerAP{PartyID: id.Value, Endpoint: party.Endpoint}
	return nil
}

// partInfos describes the declared payloads as the PartInfo list the wire message will carry.
func partInfos(ps []declaredPayload) []ebms.PartInfo {
	out := make([]ebms.PartInfo, len(ps))
	for i, p := range ps {
		props := []ebms.Property{{Name: ebms.PartPropertyMimeType, Value: p.mimeType}}
		for _, pp := range p.properties {
			props = append(props, ebms.Property{Name: pp.Name, Type: pp.Type, Value: pp.Value})
		}
		out[i] = ebms.PartInfo{Href: "cid:" + p.id, PartProperties: props}
	}
	return out
}

// pmodeProblem turns a P-Mode refusal into a 422 naming the fields involved.
func pmodeProblem(err error, sub *submission) *Problem {
	var me *pmode.MatchError
	var pe *pmode.ProfileError
	switch {
	case errors.As(err, &me):
		p := problem(kindPMode, "", "%s", strings.TrimPrefix(me.Error(), "pmode: "))
		var fields []string
		for _, c := range me.Closest {
			for _, mm := range c.Mismatches {
				if f := mismatchField(mm.Field); f != "" && !contains(fields, f) {
					fields = append(fields, f)
				}
			}
		}
		if len(fields) > 0 {
			p.Field = fields[0]
		}
		if len(fields) > 1 {
			p.Fields = fields
		}
		return p
	case errors.As(err, &pe):
		return problem(kindProfile, profileField(pe.Field, sub), "%s", strings.TrimPrefix(pe.Error(), "pmode: "))
	}
	return problem(kindPMode, "", "%s", strings.TrimPrefix(err.Error(), "pmode: "))
}

// mismatchField maps pmode.Mismatch.Field to the metadata member.
func mismatchField(f string) string {
	switch f {
	case "service", "action", "agreementRef":
		return f
	case "service type":
		return "serviceType"
	case "to party":
		return "toPartyId"
	}
	return "" // direction, mpc: the P-Modes', not the submission's
}

// profileField maps pmode.ProfileError.Field ("message property \"x\"", "payload
// \"cid:y\"", "payloads") to the metadata member.
func profileField(f string, sub *submission) string {
	if name, ok := strings.CutPrefix(f, "message property "); ok {
		name = strings.Trim(name, `"`)
		switch name {
		case ebms.PropertyOriginalSender, ebms.PropertyFinalRecipient:
			return name
		}
		for i, p := range sub.properties {
			if p.Name == name {
				return fmt.Sprintf("properties[%d]", i)
			}
		}
		return "properties"
	}
	if name, ok := strings.CutPrefix(f, "payload "); ok {
		name = strings.TrimPrefix(strings.Trim(name, `"`), "cid:")
		for i, p := range sub.payloads {
			if strings.EqualFold(p.id, name) {
				return fmt.Sprintf("payloads[%d]", i)
			}
		}
	}
	return "payloads"
}

// multipartProblem explains a failure to read the request body.
func (s *Server) multipartProblem(err error, field, doing string) *Problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem(kindTooLarge, field, "the request is larger than the limit of %d bytes", mbe.Limit)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid(field, "%s: the multipart body ends early (missing closing boundary?)", doing)
	}
	return invalid(field, "%s: %v", doing, err)
}

// recordingReader remembers the first read error other than EOF, so that a failed
// PutPayload can be told apart: the client's body (400/413) or the store (500).
type recordingReader struct {
	r   io.Reader
	err error
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// capReader fails once more than left bytes come through.
type capReader struct {
	recordingReader
	left int64
	over bool
}

var errOverLimit = errors.New("backend: payload size limit exceeded")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < math.MaxInt64 && int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.recordingReader.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return n, errOverLimit
	}
	return n, err
}

func participantList(sc scope) string {
	var names []string
	for _, p := range sc.match {
		if sc.own[p] {
			names = append(names, p.String())
		}
	}
	return strings.Join(names, ", ")
}

func declaredList(ps []declaredPayload) string {
	if len(ps) == 0 {
		return "none"
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = fmt.Sprintf("%q", p.id)
	}
	return strings.Join(ids, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newUUID returns a random (version 4) UUID, the default ConversationId.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
