package soap

import (
	"bytes"
	"testing"
)

// refNormalizeAttributeWhitespace is NormalizeAttributeWhitespace as it was
// before it skipped text with IndexByte: the reference
// FuzzNormalizeAttributeWhitespace compares the current one with. Do not
// change it.
func refNormalizeAttributeWhitespace(in []byte) []byte {
	var out []byte // allocated on the first change
	copied := 0    // in[:copied] is already in out
	change := func(i int, skip int) {
		if out == nil {
			out = make([]byte, 0, len(in))
		}
		out = append(out, in[copied:i]...)
		out = append(out, ' ')
		copied = i + skip
	}
	for i := 0; i < len(in); {
		if in[i] != '<' {
			i++
			continue
		}
		rest := in[i:]
		var terminator string
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			terminator = "-->"
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			terminator = "]]>"
		case bytes.HasPrefix(rest, []byte("<?")):
			terminator = "?>"
		case bytes.HasPrefix(rest, []byte("<!")):
			terminator = ">"
		}
		if terminator != "" {
			j := bytes.Index(rest, []byte(terminator))
			if j < 0 {
				break
			}
			i += j + len(terminator)
			continue
		}
		var quote byte
		for i++; i < len(in); i++ {
			b := in[i]
			if quote == 0 {
				if b == '"' || b == '\'' {
					quote = b
				} else if b == '>' {
					i++
					break
				}
				continue
			}
			switch b {
			case quote:
				quote = 0
			case '\r':
				if i+1 < len(in) && in[i+1] == '\n' {
					change(i, 2)
					i++
				} else {
					change(i, 1)
				}
			case '\t', '\n':
				change(i, 1)
			}
		}
	}
	if out == nil {
		return in
	}
	return append(out, in[copied:]...)
}

// FuzzNormalizeAttributeWhitespace: the faster normalisation writes the
// same bytes as the reference on any input, well-formed or not.
func FuzzNormalizeAttributeWhitespace(f *testing.F) {
	for _, in := range []string{
		"<a b=\"x\ty\r\nz\"/>", "<a b='\r'>\t</a>", "<a b=\"\r", "<!-- \" --><a b=\"\n\"/>",
		"<![CDATA[\"\t]]><c d=\"\n\"/>", "<?p \"\t?><a b='\t'/>", "<!D \"\t><a b=\"x>\ty\"/>", "<a b=\"1\"\n c='\r\n'>",
		env12, env11,
	} {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, want := NormalizeAttributeWhitespace(in), refNormalizeAttributeWhitespace(in)
		if !bytes.Equal(got, want) {
			t.Fatalf("input %q\ngot  %q\nwant %q", in, got, want)
		}
	})
}
