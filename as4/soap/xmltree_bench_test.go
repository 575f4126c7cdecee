package soap

import (
	"testing"
)

// treeBenchInputs are what parseEnvelopeBytes hands the parser on the
// receive path: two signed+encrypted UserMessage envelopes (see
// benchEnvelopes) and a signed receipt, prepared as parseEnvelopeBytes
// prepares them.
var treeBenchInputs = append(benchEnvelopes[:len(benchEnvelopes):len(benchEnvelopes)],
	struct{ name, rel string }{"phase4-receipt", "phase4/TestReceipt12.xml"})

func benchTreeParser(b *testing.B, parse func([]byte, int) error) {
	lim := DefaultLimits()
	for _, in := range treeBenchInputs {
		data := NormalizeAttributeWhitespace(trimProlog(readVector(b, in.rel)))
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := parse(data, lim.MaxXMLDepth); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseTree(b *testing.B) {
	benchTreeParser(b, func(data []byte, depth int) error {
		_, err := parseTree(data, depth)
		return err
	})
}

// BenchmarkEtreeReadFromBytes is the parse parseTree replaced.
func BenchmarkEtreeReadFromBytes(b *testing.B) {
	benchTreeParser(b, func(data []byte, depth int) error {
		_, err := etreeOracle(data, depth)
		return err
	})
}
