package soap

import "bytes"

// NormalizeAttributeWhitespace applies XML 1.0 §3.3.3 attribute-value
// normalisation for CDATA attributes to raw markup: each literal tab, LF, CR
// or CRLF inside a quoted attribute value becomes one space. encoding/xml
// does not do this, while libxml2 and the Java parsers under other AS4
// implementations do, and C14N digests depend on it.
//
// It works on the bytes, before character references are expanded, because
// &#x9; &#xA; &#xD; must survive as tab, LF and CR (C14N then writes them as
// references again); after decoding the two cannot be told apart. Comments,
// CDATA sections, processing instructions and declarations are copied as
// they are. The input is returned unchanged, without copying, when nothing
// needs normalising (the usual case).
func NormalizeAttributeWhitespace(in []byte) []byte {
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
		// Text (most of an envelope: base64 values) is skipped at memchr
		// speed.
		j := bytes.IndexByte(in[i:], '<')
		if j < 0 {
			break
		}
		i += j
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
		// A start or end tag: up to the '>' outside quotes. An unterminated
		// value runs to the end of the input.
		for i++; i < len(in); {
			b := in[i]
			if b == '>' {
				i++
				break
			}
			if b != '"' && b != '\'' {
				i++
				continue
			}
			end := len(in)
			if k := bytes.IndexByte(in[i+1:], b); k >= 0 {
				end = i + 1 + k
			}
			for k := i + 1; k < end; k++ {
				switch in[k] {
				case '\r':
					if k+1 < end && in[k+1] == '\n' {
						change(k, 2)
						k++
					} else {
						change(k, 1)
					}
				case '\t', '\n':
					change(k, 1)
				}
			}
			i = end + 1
		}
	}
	if out == nil {
		return in
	}
	return append(out, in[copied:]...)
}
