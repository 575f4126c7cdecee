package ebms

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary XML to the decoder. It must never panic, and whatever it accepts
// must survive Encode and decode again unchanged (which also exercises Encode on odd input).
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{validUser, validReceipt, validError,
		`<eb:Messaging xmlns:eb="` + NamespaceEbMS + `"/>`,
		`<eb:Messaging xmlns:eb="` + NamespaceEbMS + `"><eb:SignalMessage><eb:MessageInfo><eb:Timestamp>2024-01-01T00:00:00Z</eb:Timestamp><eb:MessageId>p@x</eb:MessageId></eb:MessageInfo><eb:PullRequest mpc="urn:m"/></eb:SignalMessage></eb:Messaging>`,
		`<eb:Messaging xmlns:eb="` + NamespaceEbMS + `"><eb:SignalMessage><eb:MessageInfo><eb:Timestamp>2024-01-01T00:00:00Z</eb:Timestamp><eb:MessageId>r@x</eb:MessageId><eb:RefToMessageId>a@x</eb:RefToMessageId></eb:MessageInfo><eb:Receipt><S11:Envelope xmlns:S11="` + NamespaceSOAP11 + `"><S11:Header><eb:Messaging><eb:UserMessage/></eb:Messaging></S11:Header></S11:Envelope><x:y xmlns:x="urn:x" xmlns=""/></eb:Receipt></eb:SignalMessage></eb:Messaging>`,
	} {
		f.Add([]byte(seed))
	}
	if dir, ok := findVectorsDir(); ok {
		for _, name := range vectorFiles(f, dir) {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				continue
			}
			doc, err := parseXML(extractRootXML(data))
			if err != nil {
				continue
			}
			if el := findAnyMessaging(doc.Root()); el != nil {
				f.Add([]byte(serialize(detachedCopy(el))))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseXML(data)
		if err != nil {
			return
		}
		el := findAnyMessaging(doc.Root())
		if el == nil {
			return
		}
		m, err := Decode(el)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Decode returned %T, want *ValidationError: %v", err, err)
			}
			return
		}
		assertRoundTrip(t, m, false)
	})
}
