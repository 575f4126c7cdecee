package soap

import (
	"errors"
	"fmt"
	"io"
)

// Limits bounds everything this package reads from a peer. Every field is a
// configuration key an operator can raise; the names are used verbatim in
// *LimitError messages so that a rejected message points at the key to change.
//
// A zero field means "use the value from DefaultLimits": a configuration that
// sets only the keys it cares about still gets protection for the rest.
// Limits cannot be switched off; set a large value instead.
type Limits struct {
	// MaxMessageBytes caps the raw HTTP body (all MIME parts, boundaries and
	// headers, before transfer decoding).
	MaxMessageBytes int64
	// MaxEnvelopeBytes caps the SOAP envelope (the root part after transfer
	// decoding). The envelope is held in memory and parsed into a tree, so
	// this bounds memory per request; attachments are spooled to disk.
	MaxEnvelopeBytes int64
	// MaxParts caps the number of MIME parts, the root part included.
	MaxParts int
	// MaxPartHeaderBytes caps the header block of each MIME part (and the
	// header block of a captured HTTP/MIME dump). mime/multipart itself
	// accepts up to 10 MiB and 10,000 header lines per part.
	MaxPartHeaderBytes int64
	// MaxAttachmentBytes caps each attachment after transfer decoding, i.e.
	// the bytes spooled to disk.
	MaxAttachmentBytes int64
	// MaxXMLDepth caps element nesting in the envelope (the Envelope element
	// is depth 1).
	MaxXMLDepth int
	// MaxAttributesPerElement caps the attributes on one element, namespace
	// declarations included (so it also bounds declarations per element).
	MaxAttributesPerElement int
	// MaxNamespaceDeclarations caps xmlns declarations in the whole envelope.
	// Exclusive C14N and namespace lookups cost grows with declarations in
	// scope, so many declarations are a cheap way to make verification slow.
	MaxNamespaceDeclarations int
	// MaxElements caps the number of elements in the envelope.
	MaxElements int
	// MaxDecompressedBytes caps the output of Decompress for one payload
	// (gzip bombs reach ratios of 1000:1).
	MaxDecompressedBytes int64
}

// DefaultLimits returns limits for a gateway that must carry payloads of at
// least 100 MB (the SDK federation requires it; its QA test sends 70 MB)
// while refusing bombs:
//
//   - MaxMessageBytes 2 GiB and MaxAttachmentBytes 2 GiB let a 1 GiB payload
//     through whatever its content (stored uncompressed, base64-encoded by
//     the peer, encrypted); large attachments are spooled to disk, never
//     held in memory, so the figure costs disk, not memory.
//   - MaxEnvelopeBytes 4 MiB: AS4 envelopes are a few tens of KiB (payloads
//     travel as attachments); the envelope is parsed in memory.
//   - MaxParts 101 (100 attachments and the root) and MaxPartHeaderBytes 16 KiB: AS4 messages carry a handful
//     of parts with a few short headers each.
//   - MaxXMLDepth 64, MaxAttributesPerElement 64, MaxNamespaceDeclarations
//     4096, MaxElements 100,000: far above any real envelope (depth ~12,
//     ~20 declarations on the root) yet small enough to keep parsing and
//     canonicalisation linear and cheap.
//   - MaxDecompressedBytes 2 GiB: room for a 1 GiB payload and for a
//     compressed 100 MB XML payload that expands several times; the output
//     goes to disk while it is counted, and anything past it is a bomb.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:          2 << 30,
		MaxEnvelopeBytes:         4 << 20,
		MaxParts:                 101,
		MaxPartHeaderBytes:       16 << 10,
		MaxAttachmentBytes:       2 << 30,
		MaxXMLDepth:              64,
		MaxAttributesPerElement:  64,
		MaxNamespaceDeclarations: 4096,
		MaxElements:              100_000,
		MaxDecompressedBytes:     2 << 30,
	}
}

// WithDefaults returns l with every zero field replaced by its DefaultLimits
// value. Negative fields are kept so that Validate can report them.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	fillInt64(&l.MaxMessageBytes, d.MaxMessageBytes)
	fillInt64(&l.MaxEnvelopeBytes, d.MaxEnvelopeBytes)
	fillInt(&l.MaxParts, d.MaxParts)
	fillInt64(&l.MaxPartHeaderBytes, d.MaxPartHeaderBytes)
	fillInt64(&l.MaxAttachmentBytes, d.MaxAttachmentBytes)
	fillInt(&l.MaxXMLDepth, d.MaxXMLDepth)
	fillInt(&l.MaxAttributesPerElement, d.MaxAttributesPerElement)
	fillInt(&l.MaxNamespaceDeclarations, d.MaxNamespaceDeclarations)
	fillInt(&l.MaxElements, d.MaxElements)
	fillInt64(&l.MaxDecompressedBytes, d.MaxDecompressedBytes)
	return l
}

// Validate reports every negative field by name, for start-up configuration
// checks. Zero fields are valid: they mean "default".
func (l Limits) Validate() error {
	var errs []error
	check := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("soap limits: %s must not be negative (got %d)", name, v))
		}
	}
	check("MaxMessageBytes", l.MaxMessageBytes)
	check("MaxEnvelopeBytes", l.MaxEnvelopeBytes)
	check("MaxParts", int64(l.MaxParts))
	check("MaxPartHeaderBytes", l.MaxPartHeaderBytes)
	check("MaxAttachmentBytes", l.MaxAttachmentBytes)
	check("MaxXMLDepth", int64(l.MaxXMLDepth))
	check("MaxAttributesPerElement", int64(l.MaxAttributesPerElement))
	check("MaxNamespaceDeclarations", int64(l.MaxNamespaceDeclarations))
	check("MaxElements", int64(l.MaxElements))
	check("MaxDecompressedBytes", l.MaxDecompressedBytes)
	return errors.Join(errs...)
}

// effective returns the limits the readers enforce: defaults filled in and
// an error for negative values (a misconfiguration must not silently
// become "no limit").
func (l Limits) effective() (Limits, error) {
	if err := l.Validate(); err != nil {
		return Limits{}, err
	}
	return l.WithDefaults(), nil
}

func fillInt64(v *int64, def int64) {
	if *v == 0 {
		*v = def
	}
}

func fillInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

// LimitError reports that input exceeded one of the Limits. Limit is the
// Limits field name (the configuration key to raise), Value the limit that
// was in force.
type LimitError struct {
	Limit string
	Value int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("soap: input exceeds limit %s (%d)", e.Limit, e.Value)
}

func limitErr(name string, value int64) *LimitError {
	return &LimitError{Limit: name, Value: value}
}

// capReader passes at most max bytes through and fails with a *LimitError
// naming limit as soon as the source holds more. It reads at most one byte
// past the limit, so a peer cannot make us buffer or spool beyond it.
type capReader struct {
	r     io.Reader
	max   int64
	read  int64
	limit string
	err   error
}

func newCapReader(r io.Reader, max int64, limit string) *capReader {
	return &capReader{r: r, max: max, limit: limit}
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if room := c.max - c.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.max {
		c.err = limitErr(c.limit, c.max)
		return n - int(c.read-c.max), c.err
	}
	return n, err
}
