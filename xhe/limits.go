package xhe

import (
	"errors"
	"fmt"
	"io"
)

// Limits bounds what Parse reads. A zero field means the DefaultLimits value; a negative one
// is a configuration error. Limits cannot be switched off.
type Limits struct {
	// MaxBytes caps the whole envelope as read from the io.Reader (payload included).
	MaxBytes int64
	// MaxDepth caps element nesting anywhere in the document, payload content included (the
	// XHE element is depth 1).
	MaxDepth int
	// MaxAttributesPerElement caps the attributes of one element, namespace declarations
	// included.
	MaxAttributesPerElement int
	// MaxEnvelopeElements caps the elements Parse keeps in memory: everything outside
	// PayloadContent, the root's ds:Signature and ext:XHEExtensions.
	MaxEnvelopeElements int
	// MaxValueBytes caps the text of one kept element. Text runs are cut after
	// max(MaxValueBytes+1, 64 KiB) bytes before parsing; a cut envelope value counts as
	// exceeding this limit.
	MaxValueBytes int
}

// DefaultLimits returns limits for SDK traffic:
//
//   - MaxBytes 512 MiB: SDK carries at least 100 MB per message and the envelope holds the
//     (possibly base64-encoded, encrypted) payload; Parse streams it and cuts long text
//     runs, so only the envelope part is held in memory. The same figure as the gateway's
//     attachment limit.
//   - MaxDepth 256: the envelope itself is 5 deep; payload XML rarely exceeds 30.
//   - MaxAttributesPerElement 64.
//   - MaxEnvelopeElements 1000 and MaxValueBytes 16 KiB: a real envelope has about 30
//     elements of a few hundred bytes; together they bound the kept tree at about 16 MiB.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:                512 << 20,
		MaxDepth:                256,
		MaxAttributesPerElement: 64,
		MaxEnvelopeElements:     1000,
		MaxValueBytes:           16 << 10,
	}
}

// WithDefaults returns l with every zero field replaced by its DefaultLimits value.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAttributesPerElement == 0 {
		l.MaxAttributesPerElement = d.MaxAttributesPerElement
	}
	if l.MaxEnvelopeElements == 0 {
		l.MaxEnvelopeElements = d.MaxEnvelopeElements
	}
	if l.MaxValueBytes == 0 {
		l.MaxValueBytes = d.MaxValueBytes
	}
	return l
}

// Validate reports every negative field by name.
func (l Limits) Validate() error {
	var errs []error
	check := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("xhe limits: %s must not be negative (got %d)", name, v))
		}
	}
	check("MaxBytes", l.MaxBytes)
	check("MaxDepth", int64(l.MaxDepth))
	check("MaxAttributesPerElement", int64(l.MaxAttributesPerElement))
	check("MaxEnvelopeElements", int64(l.MaxEnvelopeElements))
	check("MaxValueBytes", int64(l.MaxValueBytes))
	return errors.Join(errs...)
}

// LimitError reports input beyond one of the Limits. Limit is the field name, Value the limit
// in force. Parse returns it wrapped in an *Error of KindMalformed.
type LimitError struct {
	Limit string
	Value int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("xhe: input exceeds limit %s (%d)", e.Limit, e.Value)
}

// capReader passes at most max bytes and fails with a *LimitError once the source holds
// more. It reads at most one byte past the limit.
type capReader struct {
	r    io.Reader
	max  int64
	read int64
	err  error
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
		c.err = &LimitError{Limit: "MaxBytes", Value: c.max}
		return n - int(c.read-c.max), c.err
	}
	return n, err
}
