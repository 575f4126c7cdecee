package backend

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/xhe"
)

// An SDK message service hands the gateway a finished XHE envelope; the AS4 headers follow
// from it (sdk-profile.md, "Business envelope"). So a submission may leave service, action,
// originalSender and finalRecipient (and conversationId) out of its metadata when it
// declares an XML payload: the gateway reads that payload as an XHE, derives the missing
// headers with xhe.Derive, and checks the ones given against the envelope. A header that
// contradicts the envelope is a problem naming that member, since the receiving access
// point would reject the message for the same contradiction (TF-10).
//
// The XHE part must be the first file part after the metadata, because the headers decide
// who may send and on which leg before any other payload is read.

// placeholder stands in for a header left to the XHE while the rest of the metadata is
// checked; it never reaches a message.
const placeholder = "as4gw-from-xhe"

// xheDerived is the XHE payload, read and stored before the other payloads.
type xheDerived struct {
	idx     int
	payload *store.Payload
}

// checkAllowingXHE is check for metadata that may leave headers to an XHE payload.
func (md *metadata) checkAllowingXHE(maxPayloads int) (*submission, *Problem) {
	complete := md.Service != "" && md.Action != "" && md.OriginalSender != "" && md.FinalRecipient != ""
	if complete || xheIndex(md.Payloads) < 0 {
		return md.check(maxPayloads) // names the missing member when there is no XHE to read
	}
	tmp := *md
	for _, f := range []*string{&tmp.Service, &tmp.Action, &tmp.OriginalSender, &tmp.FinalRecipient} {
		if *f == "" {
			*f = placeholder
		}
	}
	sub, p := tmp.check(maxPayloads)
	if p != nil {
		return nil, p
	}
	if md.Service == "" {
		sub.service = ""
	}
	if md.Action == "" {
		sub.action = ""
	}
	if md.OriginalSender == "" {
		sub.originalSender = store.PartyID{Type: md.OriginalSenderType}
	}
	if md.FinalRecipient == "" {
		sub.finalRecipient = store.PartyID{Type: md.FinalRecipientType}
	}
	return sub, nil
}

// xheIndex is the payload that carries the XHE: the one with id "message" (SDK's
// cid:message), else the first with an XML media type; -1 when none is XML.
func xheIndex(ps []payloadJSON) int {
	first := -1
	for i, p := range ps {
		mt, _, err := mime.ParseMediaType(p.MimeType)
		if err != nil || !(mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml")) {
			continue
		}
		if strings.EqualFold(p.ID, "message") {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// xhePayload is the index of the declared payload that carries the XHE (see xheIndex).
func (sub *submission) xhePayload() int {
	md := make([]payloadJSON, len(sub.payloads))
	for i, p := range sub.payloads {
		md[i] = payloadJSON{ID: p.id, MimeType: p.mimeType}
	}
	return xheIndex(md)
}

// missingHeader names the first header the metadata left to the XHE; "" when none.
func (sub *submission) missingHeader() string {
	switch {
	case sub.originalSender.ID == "":
		return "originalSender"
	case sub.finalRecipient.ID == "":
		return "finalRecipient"
	case sub.service == "":
		return "service"
	case sub.action == "":
		return "action"
	}
	return ""
}

// headersFromXHE reads the XHE payload part when the metadata left headers to it, fills
// them in and checks the given ones against it. It returns the stored payload for the
// payload loop, or nil when the metadata was complete.
func (s *Server) headersFromXHE(ctx context.Context, mr *multipart.Reader, sub *submission, c *client, up *upload) (*xheDerived, *Problem) {
	missing := sub.missingHeader()
	if missing == "" {
		return nil, nil
	}
	if sub.originalSender.ID != "" && !c.scope.own[sub.originalSender] {
		return nil, problem(kindForbidden, "originalSender", "client %q may not send as originalSender %s; it sends for %s",
			c.name, sub.originalSender, participantList(c.scope))
	}
	idx := sub.xhePayload()
	id := sub.payloads[idx].id
	field := fmt.Sprintf("payloads[%d]", idx)
	because := fmt.Sprintf("%s is not in the metadata, so it comes from the XHE envelope in payload %q", missing, id)

	part, err := mr.NextPart()
	if err != nil {
		return nil, s.multipartProblem(err, field, fmt.Sprintf("reading the XHE payload part %q (%s)", id, because))
	}
	if name := part.FormName(); name != id {
		return nil, invalid(field, "%s, which must be the first file part after the metadata; the first is %q", because, name)
	}
	if cte := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); cte != "" && cte != "binary" && cte != "8bit" && cte != "7bit" {
		return nil, invalid(field, "Content-Transfer-Encoding %q is not supported: send the payload's bytes as they are (binary)", cte)
	}
	cr := &capReader{recordingReader: recordingReader{r: part}, left: s.limits.MaxRequestBytes}
	blob, err := s.store.PutPayload(ctx, cr)
	if err != nil {
		switch {
		case cr.over:
			return nil, problem(kindTooLarge, field, "the XHE payload %q is larger than the request limit of %d bytes", id, s.limits.MaxRequestBytes)
		case cr.err != nil:
			return nil, s.multipartProblem(cr.err, field, fmt.Sprintf("reading the XHE payload part %q", id))
		}
		return nil, problem(kindUnavailable, field, "storing the XHE payload failed; try again")
	}
	up.refs = append(up.refs, blob.Ref)

	rc, err := s.store.OpenPayload(ctx, blob.Ref)
	if err != nil {
		return nil, problem(kindUnavailable, field, "reading back the XHE payload failed; try again")
	}
	env, err := xhe.Parse(rc, xhe.Limits{})
	rc.Close()
	var h xhe.Headers
	if err == nil {
		h, err = env.Derive()
	}
	if err != nil {
		return nil, invalid(missing, "%s, but it is not a usable SDK XHE envelope: %s", because, xheReason(err))
	}
	if p := applyXHE(sub, h); p != nil {
		return nil, p
	}
	pl := &store.Payload{ID: id, ContentID: id, MimeType: sub.payloads[idx].mimeType,
		Properties: sub.payloads[idx].properties, Blob: blob.Ref, Size: blob.Size, SHA256: blob.SHA256}
	if fn := part.FileName(); fn != "" && fn != "." && fn != "/" && checkText("", fn, maxIDLen, false) == nil {
		pl.FileName = fn
	}
	return &xheDerived{idx: idx, payload: pl}, nil
}

// checkGivenAgainstXHE reads the stored XHE payload of a message whose metadata named all
// headers, on a leg that carries XHE envelopes, and checks the headers against it (filling
// an empty conversationId from the envelope).
func (s *Server) checkGivenAgainstXHE(ctx context.Context, sub *submission, m *store.Message) *Problem {
	idx := sub.xhePayload()
	if idx < 0 {
		return invalid("payloads", "leg %q carries an XHE envelope in an XML payload (id %q), and none of the payloads is XML", m.LegName, "message")
	}
	field := fmt.Sprintf("payloads[%d]", idx)
	rc, err := s.store.OpenPayload(ctx, m.Payloads[idx].Blob)
	if err != nil {
		return problem(kindUnavailable, field, "reading back the XHE payload failed; try again")
	}
	env, err := xhe.Parse(rc, xhe.Limits{})
	rc.Close()
	var h xhe.Headers
	if err == nil {
		h, err = env.Derive()
	}
	if err != nil {
		return invalid(field, "payload %q of leg %q must be an SDK XHE envelope: %s", sub.payloads[idx].id, m.LegName, xheReason(err))
	}
	return applyXHE(sub, h)
}

// xheReason is an xhe error for a problem detail, with at most a few of its problems.
func xheReason(err error) string {
	var xe *xhe.Error
	if !errors.As(err, &xe) || len(xe.Problems) <= 3 {
		return err.Error()
	}
	short := *xe
	short.Problems = xe.Problems[:3]
	return fmt.Sprintf("%s (and %d more)", short.Error(), len(xe.Problems)-3)
}

// applyXHE fills the headers the metadata left out and checks those it gave. Participant
// ids compare case-insensitively (ISO 6523 identifiers are), everything else exactly.
func applyXHE(sub *submission, h xhe.Headers) *Problem {
	party := func(name string, given *store.PartyID, scheme, value string) *Problem {
		if given.ID == "" {
			if given.Type != "" && given.Type != scheme {
				return invalid(name+"Type", "%sType %q contradicts the XHE envelope, whose party has schemeID %q", name, given.Type, scheme)
			}
			*given = store.PartyID{ID: value, Type: scheme}
			return nil
		}
		if !strings.EqualFold(given.ID, value) || (given.Type != "" && given.Type != scheme) {
			return invalid(name, "%s %s contradicts the XHE envelope, which names %s::%s", name, given, scheme, value)
		}
		return nil
	}
	if p := party("originalSender", &sub.originalSender, h.OriginalSender.Type, h.OriginalSender.Value); p != nil {
		return p
	}
	if p := party("finalRecipient", &sub.finalRecipient, h.FinalRecipient.Type, h.FinalRecipient.Value); p != nil {
		return p
	}
	for _, f := range []struct {
		name       string
		given      *string
		want, what string
	}{
		{"service", &sub.service, h.Service.Value, "PROCESSID"},
		{"serviceType", &sub.serviceType, h.Service.Type, "PROCESSID_SCHEME"},
		{"action", &sub.action, h.Action, "DOCUMENTID_SCHEME::DOCUMENTID"},
		{"conversationId", &sub.conversationID, h.ConversationID, "Header/ID"},
	} {
		switch {
		case *f.given == "":
			*f.given = f.want
		case *f.given != f.want:
			return invalid(f.name, "%s %q contradicts the XHE envelope's %s %q", f.name, *f.given, f.what, f.want)
		}
	}
	return nil
}
