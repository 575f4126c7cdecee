package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
)

// metadata is the "metadata" part of a submission, as the client writes it.
type metadata struct {
	MessageID          string         `json:"messageId"`
	ConversationID     string         `json:"conversationId"`
	RefToMessageID     string         `json:"refToMessageId"`
	Service            string         `json:"service"`
	ServiceType        string         `json:"serviceType"`
	Action             string         `json:"action"`
	AgreementRef       string         `json:"agreementRef"`
	AgreementRefType   string         `json:"agreementRefType"`
	OriginalSender     string         `json:"originalSender"`
	OriginalSenderType string         `json:"originalSenderType"`
	FinalRecipient     string         `json:"finalRecipient"`
	FinalRecipientType string         `json:"finalRecipientType"`
	ToPartyID          string         `json:"toPartyId"`
	ToPartyType        string         `json:"toPartyType"`
	Properties         []propertyJSON `json:"properties"`
	Payloads           []payloadJSON  `json:"payloads"`
}

type propertyJSON struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

type payloadJSON struct {
	ID         string         `json:"id"`
	MimeType   string         `json:"mimeType"`
	Properties []propertyJSON `json:"properties"`
}

// submission is checked metadata, ready for the P-Mode and the store.
type submission struct {
	messageID      string // "" until generated
	conversationID string // "" until generated
	refToMessageID string
	service        string
	serviceType    string
	action         string
	agreementRef   string
	agreementType  string
	originalSender store.PartyID
	finalRecipient store.PartyID
	toPartyID      string
	toPartyType    string
	properties     []store.Property
	payloads       []declaredPayload
}

type declaredPayload struct {
	id         string
	mimeType   string
	properties []store.Property
}

// Limits of metadata values. Domibus caps ids at 255 characters; so do we, so that a
// message we accept is one any peer accepts.
const (
	maxIDLen         = 255
	maxTextLen       = 1024 // service, action (busdox action strings are long), agreementRef
	maxPropertyValue = 4096
	maxProperties    = 64
	maxPayloadIDLen  = 128
	metadataPart     = "metadata"
)

// decodeMetadata reads the metadata JSON (at most max bytes, one object, no unknown
// members) and checks it. Problems name the field.
func decodeMetadata(r io.Reader, max int64, maxPayloads int) (*submission, *Problem) {
	lr := &io.LimitedReader{R: r, N: max + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	var md metadata
	err := dec.Decode(&md)
	if lr.N <= 0 {
		return nil, problem(kindTooLarge, metadataPart, "the metadata part is larger than %d bytes", max)
	}
	if err != nil {
		return nil, jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if lr.N <= 0 {
			return nil, problem(kindTooLarge, metadataPart, "the metadata part is larger than %d bytes", max)
		}
		return nil, invalid(metadataPart, "the metadata part must hold exactly one JSON object; more follows it")
	}
	return md.checkAllowingXHE(maxPayloads) // xhe_submit.go
}

// jsonProblem explains a JSON decoding error, naming the member where it can.
func jsonProblem(err error) *Problem {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalid(metadataPart, "the metadata part is not valid JSON (at byte %d): %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalid(metadataPart, "the metadata part must be a JSON object, not %s", typ.Value)
		}
		return invalid(field, "%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return invalid(metadataPart, "the metadata part is empty; it must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(metadataPart, "the metadata part ends in the middle of its JSON")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		field := name
		if field == "" || checkText("", field, maxIDLen, true) != nil {
			field = metadataPart
		}
		return invalid(field, "metadata has no member %q (see the Metadata schema in openapi.yaml)", name)
	}
	return invalid(metadataPart, "the metadata part is not usable JSON: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return k
}

// check validates every member and returns the first problem.
func (md *metadata) check(maxPayloads int) (*submission, *Problem) {
	sub := &submission{
		service: md.Service, serviceType: md.ServiceType, action: md.Action,
		agreementRef: md.AgreementRef, agreementType: md.AgreementRefType,
		toPartyID: md.ToPartyID, toPartyType: md.ToPartyType,
	}
	for _, c := range []struct {
		field, value string
		max          int
		required     bool
	}{
		{"service", md.Service, maxTextLen, true},
		{"serviceType", md.ServiceType, maxTextLen, false},
		{"action", md.Action, maxTextLen, true},
		{"agreementRef", md.AgreementRef, maxTextLen, false},
		{"agreementRefType", md.AgreementRefType, maxTextLen, false},
		{"conversationId", md.ConversationID, maxIDLen, false},
		{"toPartyId", md.ToPartyID, maxParticipantLen, false},
		{"toPartyType", md.ToPartyType, maxParticipantLen, false},
	} {
		if p := checkText(c.field, c.value, c.max, c.required); p != nil {
			return nil, p
		}
	}
	if md.AgreementRefType != "" && md.AgreementRef == "" {
		return nil, invalid("agreementRefType", "agreementRefType is given without agreementRef")
	}
	if md.ToPartyType != "" && md.ToPartyID == "" {
		return nil, invalid("toPartyType", "toPartyType is given without toPartyId")
	}
	if md.MessageID != "" {
		if len(md.MessageID) > maxIDLen {
			return nil, invalid("messageId", "messageId is %d characters long, at most %d allowed", len(md.MessageID), maxIDLen)
		}
		if err := ebms.ValidateMessageID(md.MessageID); err != nil {
			return nil, invalid("messageId", "messageId must be an RFC 2822 msg-id without angle brackets (\"uuid@domain\"), or omitted to have one generated: %v", err)
		}
		sub.messageID = md.MessageID
	}
	sub.conversationID = md.ConversationID
	if md.RefToMessageID != "" {
		if p := checkRefToMessageID(md.RefToMessageID); p != nil {
			return nil, p
		}
		sub.refToMessageID = md.RefToMessageID
	}
	var err error
	if md.OriginalSender == "" {
		return nil, invalid("originalSender", "originalSender is required: the participant sending (e.g. \"0203:malmo.se\")")
	}
	if sub.originalSender, err = participant(md.OriginalSender, md.OriginalSenderType); err != nil {
		return nil, invalid(participantField("originalSender", md.OriginalSenderType), "originalSender: %v", err)
	}
	if md.FinalRecipient == "" {
		return nil, invalid("finalRecipient", "finalRecipient is required: the participant receiving (e.g. \"0203:sundbyberg.se\")")
	}
	if sub.finalRecipient, err = participant(md.FinalRecipient, md.FinalRecipientType); err != nil {
		return nil, invalid(participantField("finalRecipient", md.FinalRecipientType), "finalRecipient: %v", err)
	}
	var prob *Problem
	if sub.properties, prob = checkProperties("properties", md.Properties, true); prob != nil {
		return nil, prob
	}
	if len(md.Payloads) > maxPayloads {
		return nil, invalid("payloads", "%d payloads declared, at most %d allowed", len(md.Payloads), maxPayloads)
	}
	seen := map[string]int{}
	for i, pj := range md.Payloads {
		field := fmt.Sprintf("payloads[%d]", i)
		if p := checkPayloadID(field+".id", pj.ID); p != nil {
			return nil, p
		}
		if j, dup := seen[strings.ToLower(pj.ID)]; dup {
			return nil, invalid(field+".id", "payload id %q is used by payloads[%d] already (ids are compared case-insensitively, as Content-IDs are)", pj.ID, j)
		}
		seen[strings.ToLower(pj.ID)] = i
		if pj.MimeType == "" {
			return nil, invalid(field+".mimeType", "mimeType is required (e.g. \"text/xml\")")
		}
		if p := checkText(field+".mimeType", pj.MimeType, maxParticipantLen, true); p != nil {
			return nil, p
		}
		if mt, _, err := mime.ParseMediaType(pj.MimeType); err != nil || !strings.Contains(mt, "/") {
			return nil, invalid(field+".mimeType", "%q is not a media type (type/subtype)", pj.MimeType)
		}
		props, prob := checkProperties(field+".properties", pj.Properties, false)
		if prob != nil {
			return nil, prob
		}
		sub.payloads = append(sub.payloads, declaredPayload{id: pj.ID, mimeType: pj.MimeType, properties: props})
	}
	return sub, nil
}

// participantField names the member a participant error is about.
func participantField(name, typ string) string {
	if typ != "" {
		return name + "Type"
	}
	return name
}

// checkProperties checks message properties (message true) or part properties. The
// gateway sets originalSender and finalRecipient (message), MimeType and CompressionType
// (part) itself, so those names are refused.
func checkProperties(field string, in []propertyJSON, message bool) ([]store.Property, *Problem) {
	if len(in) > maxProperties {
		return nil, invalid(field, "%d properties, at most %d allowed", len(in), maxProperties)
	}
	var out []store.Property
	for i, p := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.Name == "" {
			return nil, invalid(f+".name", "a property needs a name")
		}
		if pr := checkText(f+".name", p.Name, maxIDLen, true); pr != nil {
			return nil, pr
		}
		if pr := checkText(f+".type", p.Type, maxIDLen, false); pr != nil {
			return nil, pr
		}
		if pr := checkText(f+".value", p.Value, maxPropertyValue, false); pr != nil {
			return nil, pr
		}
		if message && (p.Name == ebms.PropertyOriginalSender || p.Name == ebms.PropertyFinalRecipient) {
			return nil, invalid(f+".name", "%q is set from the %s member, not as a property", p.Name, p.Name)
		}
		if !message && (strings.EqualFold(p.Name, ebms.PartPropertyMimeType) || strings.EqualFold(p.Name, ebms.PartPropertyCompressionType)) {
			return nil, invalid(f+".name", "the part property %q is set by the gateway (MimeType from the payload's mimeType, CompressionType from the P-Mode)", p.Name)
		}
		out = append(out, store.Property{Name: p.Name, Type: p.Type, Value: p.Value})
	}
	return out, nil
}

// checkText checks a metadata string: valid UTF-8, no control characters, bounded.
func checkText(field, s string, max int, required bool) *Problem {
	switch {
	case s == "" && required:
		return invalid(field, "%s is required", field)
	case len(s) > max:
		return invalid(field, "%s is %d bytes long, at most %d allowed", field, len(s), max)
	case !utf8.ValidString(s):
		return invalid(field, "%s is not valid UTF-8", field)
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return invalid(field, "%s contains the control character %U at byte %d", field, r, i)
		}
		if r == 0xfffe || r == 0xffff {
			return invalid(field, "%s contains %U, which XML cannot carry, at byte %d", field, r, i)
		}
	}
	return nil
}

// checkRefToMessageID accepts what peers send as MessageIds (visible US-ASCII without
// angle brackets): a reply refers to a message another gateway named.
func checkRefToMessageID(s string) *Problem {
	if len(s) > maxIDLen {
		return invalid("refToMessageId", "refToMessageId is %d characters long, at most %d allowed", len(s), maxIDLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '<' || c == '>' {
			return invalid("refToMessageId", "refToMessageId contains %q at byte %d; a message id is visible US-ASCII without angle brackets", c, i)
		}
	}
	return nil
}

// checkPayloadID: a payload id is the payload's Content-ID on the wire, the name of its
// file part, and a path segment of the download URL, so it is kept to characters that are
// safe in all three: letters, digits and . _ - @ + = ~, starting with a letter or digit.
func checkPayloadID(field, id string) *Problem {
	if id == "" {
		return invalid(field, "a payload needs an id (its Content-ID and file part name, e.g. \"message\")")
	}
	if len(id) > maxPayloadIDLen {
		return invalid(field, "payload id is %d characters long, at most %d allowed", len(id), maxPayloadIDLen)
	}
	if strings.EqualFold(id, metadataPart) {
		return invalid(field, "%q is the name of the metadata part; choose another payload id", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || (i > 0 && strings.IndexByte("._-@+=~", c) >= 0) {
			continue
		}
		return invalid(field, "payload id %q: %q at position %d is not allowed (letters, digits and . _ - @ + = ~, starting with a letter or digit)", id, c, i)
	}
	return nil
}
