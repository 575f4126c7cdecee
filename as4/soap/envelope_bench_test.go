package soap

import (
	"testing"

	"github.com/beevik/etree"
)

// benchEnvelopes are real signed+encrypted AS4 envelopes of the size our
// receiver parses per message: a Holodeck B2B UserMessage (BST, RSA-OAEP
// EncryptedKey, signature over header, body and attachment) and a Domibus
// one with an X509PKIPathv1 token (the largest envelope in the vectors).
var benchEnvelopes = []struct{ name, rel string }{
	{"holodeck-signed-encrypted", "phase4/from-holodeck-1.xml"},
	{"domibus-pkipath-signed-encrypted", "domibus/bst_X509PKIPathv1_incoming_message.xml"},
}

// BenchmarkParseEnvelope measures what ReadMessage pays per inbound
// envelope: prolog trim, pre-scan, attribute normalisation, etree parse and
// the SOAP structure check.
func BenchmarkParseEnvelope(b *testing.B) {
	lim := DefaultLimits()
	for _, be := range benchEnvelopes {
		data := readVector(b, be.rel)
		b.Run(be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseEnvelopeBytes(data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// parseEnvelopeBytesReference is parseEnvelopeBytes as it was before the
// hand-written scanner, so that one benchmark run compares both on the same
// machine under the same load.
func parseEnvelopeBytesReference(data []byte, lim Limits) (*Envelope, error) {
	data = trimProlog(data)
	if _, err := refScanXML(data, lim); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = lim.MaxXMLDepth
	if err := doc.ReadFromBytes(NormalizeAttributeWhitespace(data)); err != nil {
		return nil, envelopeErr(-1, "not well-formed XML", err)
	}
	return envelopeFromDocument(doc)
}

func BenchmarkParseEnvelopeReference(b *testing.B) {
	lim := DefaultLimits()
	for _, be := range benchEnvelopes {
		data := readVector(b, be.rel)
		b.Run(be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseEnvelopeBytesReference(data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnvelopeStages splits BenchmarkParseEnvelope into its stages
// (the scan, the reference scan it replaced, attribute normalisation and
// the etree parse), to show what each costs.
func BenchmarkEnvelopeStages(b *testing.B) {
	lim := DefaultLimits()
	for _, be := range benchEnvelopes {
		data := trimProlog(readVector(b, be.rel))
		b.Run("scan/"+be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scanXML(data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("refscan/"+be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := refScanXML(data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("normalize/"+be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				NormalizeAttributeWhitespace(data)
			}
		})
		b.Run("etree/"+be.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				doc := etree.NewDocument()
				if err := doc.ReadFromBytes(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
