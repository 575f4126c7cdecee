package xhe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

// FuzzParse feeds arbitrary bytes to Parse. Nothing may panic; whatever parses can be
// checked, derived and compared; whatever Derive accepts must pass CheckAgainst with the
// headers it derived (the submission/receipt round trip); and cutting long text runs (the
// text elider, here after 16 bytes) must change nothing but turn a cut envelope value into a
// MaxValueBytes limit error.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.xml", "tf09/*.xml", "tf10/*.xml"} {
		files, _ := filepath.Glob(filepath.Join("testdata", pattern))
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`<x:XHE xmlns:x="` + NamespaceXHE + `"/>`))
	f.Add([]byte(`<x:XHE xmlns:x="` + NamespaceXHE + `" xmlns:a="` + NamespaceAggregate + `"><a:Header><a:FromParty/></a:Header><a:Payloads><a:Payload><a:PayloadContent/></a:Payload></a:Payloads></x:XHE>`))
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxEnvelopeElements: 500, MaxValueBytes: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(bytes.NewReader(data), lim)
		cut, cutErr := parse(bytes.NewReader(data), lim.WithDefaults(), 16)
		var le *LimitError
		switch {
		case errors.As(cutErr, &le) && le.Limit == "MaxValueBytes":
		case (err == nil) != (cutErr == nil):
			t.Fatalf("cutting text changed the outcome: %v / %v", err, cutErr)
		case err == nil:
			if a, b := fmt.Sprint(e.Check()), fmt.Sprint(cut.Check()); a != b {
				t.Fatalf("cutting text changed Check: %s / %s", a, b)
			}
			if !reflect.DeepEqual(e.Payloads(), cut.Payloads()) || !reflect.DeepEqual(e.Criteria(), cut.Criteria()) {
				t.Fatalf("cutting text changed the envelope: %+v / %+v", e.Payloads(), cut.Payloads())
			}
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse error %T is not an *Error: %v", err, err)
			}
			return
		}
		_ = e.Check()
		_ = e.Criteria()
		_ = e.Payloads()
		u := &ebms.UserMessage{}
		if err := CheckAgainst(u, e); err == nil {
			t.Fatal("an empty UserMessage cannot agree with an envelope")
		}
		h, err := e.Derive()
		if err != nil {
			if xe, ok := err.(*Error); !ok || len(xe.Problems) == 0 || xe.Error() == "" {
				t.Fatalf("Derive error without problems: %v", err)
			}
			_ = err.(*Error).EBMSError("m@x")
			return
		}
		h.Apply(u)
		if err := CheckAgainst(u, e); err != nil {
			t.Fatalf("derived headers contradict their own envelope: %v", err)
		}
	})
}
