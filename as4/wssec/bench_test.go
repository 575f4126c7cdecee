package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/trust/testpki"
)

// Benchmarks: Sign and Verify of a UserMessage with one attachment of 10 KB
// and 10 MB (attachment digests included: the parts carry no precomputed
// SHA-256, so every iteration hashes them), Verify with the SHA-256 that
// soap.ReadMessage computes while spooling, and one RSA private-key
// operation for comparison. MB/s is over the attachment size.

var benchSizes = []struct {
	name string
	size int
}{{"10KB", 10 << 10}, {"10MB", 10 << 20}}

func benchPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

func benchEnvelope(b *testing.B) *etree.Document {
	b.Helper()
	se, err := soap.ParseEnvelope(strings.NewReader(attackEnvelope), soap.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	return se.Doc
}

func envelopeOf(doc *etree.Document) Envelope {
	root := doc.Root()
	return Envelope{Root: root, Header: root.SelectElement("Header"), Body: root.SelectElement("Body")}
}

func BenchmarkSign(b *testing.B) {
	pki := getAttackPKI(b)
	signer := pki.legit.Leaf
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			atts := []Attachment{memAttachment("part1@as4gw", benchPayload(sz.size))}
			tmpl := benchEnvelope(b)
			opts := SignOptions{Key: signer.Signer(), Certificate: signer.Certificate, Now: time.Now()}
			b.SetBytes(int64(sz.size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				doc := tmpl.Copy()
				b.StartTimer()
				if _, err := Sign(envelopeOf(doc), atts, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	pki := getAttackPKI(b)
	signer := pki.legit.Leaf
	for _, sz := range benchSizes {
		payload := benchPayload(sz.size)
		atts := []Attachment{memAttachment("part1@as4gw", payload)}
		doc := benchEnvelope(b)
		if _, err := Sign(envelopeOf(doc), atts, SignOptions{Key: signer.Signer(), Certificate: signer.Certificate, Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
		doc.WriteSettings = etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}
		wire, err := doc.WriteToBytes()
		if err != nil {
			b.Fatal(err)
		}
		se, err := soap.ParseEnvelope(bytes.NewReader(wire), soap.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		env := EnvelopeFromSOAP(se)
		sum := sha256.Sum256(payload)
		spooled := []Attachment{{ContentID: "part1@as4gw", SHA256: sum[:]}}
		for _, v := range []struct {
			name string
			atts []Attachment
		}{{sz.name, atts}, {sz.name + "-spooled-sha256", spooled}} {
			b.Run(v.name, func(b *testing.B) {
				opts := VerifyOptions{Policy: DefaultPolicy(), Validator: pki.validator()}
				if _, err := Verify(env, v.atts, opts); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(sz.size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := Verify(env, v.atts, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDigestXMLAttachment: the SwA canonicalization of a 1 MB XML part
// (parse + exclusive C14N + SHA-256), against hashing the same octets.
func BenchmarkDigestXMLAttachment(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:cbc">`)
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "\n  <InvoiceLine><cbc:ID>%d</cbc:ID><cbc:Amount currencyID='EUR'>%d.00</cbc:Amount><cbc:Note/></InvoiceLine>", i, i)
	}
	sb.WriteString("\n</Invoice>\n")
	data := []byte(sb.String())
	for _, ct := range []string{"application/xml", "application/octet-stream"} {
		b.Run(ct, func(b *testing.B) {
			a := typedAttachment("x@x", ct, data)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := digestAttachment(a, crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchRSASign(b *testing.B, bits int) {
	key, err := testpki.Key(bits, 0)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("SignedInfo"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRSASign2048(b *testing.B) { benchRSASign(b, 2048) }
func BenchmarkRSASign3072(b *testing.B) { benchRSASign(b, 3072) }
