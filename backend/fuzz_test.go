package backend

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/as4gw/as4gw/ebms"
)

// FuzzDecodeMetadata: the metadata decoder never panics; it returns either a checked
// submission or a 400/413 problem naming a field, and what it accepts keeps the promises
// the rest of the handler relies on.
func FuzzDecodeMetadata(f *testing.F) {
	for _, s := range []string{
		`{"service":"s","action":"a","originalSender":"0203:malmo.se","finalRecipient":"0203:x.se"}`,
		`{"service":"s","action":"a","originalSender":"iso6523-actorid-upis::0203:malmo.se","finalRecipient":"0203:x.se","messageId":"a@b","payloads":[{"id":"message","mimeType":"text/xml","properties":[{"name":"n","value":"v"}]}]}`,
		`{"service":"s","action":"a","originalSender":"x","originalSenderType":"t","finalRecipient":"y","properties":[{"name":"originalSender","value":"v"}]}`,
		`{"payloads":[{"id":7}]}`,
		`{"unknown":1}`,
		`[]`, `null`, `{} {}`, `{"service":"\u0000"}`, ``, `{"payloads":[{"id":"a","mimeType":"text/xml"},{"id":"A","mimeType":"text/xml"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		sub, p := decodeMetadata(bytes.NewReader(data), max, 8)
		if (sub == nil) == (p == nil) {
			t.Fatalf("sub %v, problem %v", sub, p)
		}
		if p != nil {
			if p.Status != 400 && p.Status != 413 {
				t.Fatalf("status %d for input", p.Status)
			}
			if p.Field == "" || p.Detail == "" {
				t.Fatalf("problem without field or detail: %+v", p)
			}
			return
		}
		// Headers may be left to an XHE envelope when an XML payload can carry one
		// (xhe_submit.go); otherwise each is required.
		fromXHE := sub.xhePayload() >= 0
		for _, s := range []string{sub.service, sub.action, sub.originalSender.ID, sub.originalSender.Type, sub.finalRecipient.ID, sub.finalRecipient.Type} {
			if (s == "" && !fromXHE) || !utf8.ValidString(s) {
				t.Fatalf("accepted an empty or invalid required value %q", s)
			}
		}
		if !fromXHE && sub.missingHeader() != "" {
			t.Fatalf("accepted metadata without %s and no XML payload for an XHE", sub.missingHeader())
		}
		if sub.messageID != "" {
			if err := ebms.ValidateMessageID(sub.messageID); err != nil || len(sub.messageID) > maxIDLen {
				t.Fatalf("accepted messageId %q: %v", sub.messageID, err)
			}
		}
		if len(sub.payloads) > 8 {
			t.Fatalf("%d payloads accepted", len(sub.payloads))
		}
		seen := map[string]bool{}
		for i, pi := range partInfos(sub.payloads) {
			id := sub.payloads[i].id
			if seen[strings.ToLower(id)] {
				t.Fatalf("duplicate payload id %q accepted", id)
			}
			seen[strings.ToLower(id)] = true
			if cid, ok := pi.ContentID(); !ok || cid != id {
				t.Fatalf("payload id %q does not survive as Content-ID (%q, %v)", id, cid, ok)
			}
			if sub.payloads[i].mimeType == "" {
				t.Fatalf("payload %q without mimeType", id)
			}
		}
		for _, pr := range sub.properties {
			if pr.Name == ebms.PropertyOriginalSender || pr.Name == ebms.PropertyFinalRecipient || pr.Name == "" {
				t.Fatalf("property %q accepted", pr.Name)
			}
		}
	})
}
