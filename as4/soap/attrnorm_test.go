package soap

import "testing"

func TestNormalizeAttributeWhitespace(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"nothing to do", `<a b="x y">t	ext</a>`, `<a b="x y">t	ext</a>`},
		{"tab and LF", "<a b=\"x\ty\nz\"/>", `<a b="x y z"/>`},
		{"CRLF is one space", "<a b=\"x\r\ny\"/>", `<a b="x y"/>`},
		{"lone CR", "<a b=\"x\ry\"/>", `<a b="x y"/>`},
		{"single quotes", "<a b='x\ty'/>", `<a b='x y'/>`},
		{"character references survive", `<a b="x&#10;y&#x9;z"/>`, `<a b="x&#10;y&#x9;z"/>`},
		{"text untouched", "<a b=\"1\">x\ty\n</a>", "<a b=\"1\">x\ty\n</a>"},
		{"whitespace between attributes untouched", "<a\n b=\"1\"\tc=\"2\"/>", "<a\n b=\"1\"\tc=\"2\"/>"},
		{"comment with quote", "<!-- \"\t --><a b=\"\t\"/>", "<!-- \"\t --><a b=\" \"/>"},
		{"CDATA with quote", "<a><![CDATA[\"\t]]></a><c d=\"\n\"/>", "<a><![CDATA[\"\t]]></a><c d=\" \"/>"},
		{"PI untouched", "<?xml version=\"1.0\"\t?><a/>", "<?xml version=\"1.0\"\t?><a/>"},
		{"> inside value", "<a b=\"x>\ty\"/>", `<a b="x> y"/>`},
		{"unterminated comment", "<!-- \t", "<!-- \t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(NormalizeAttributeWhitespace([]byte(tt.in))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeAttributeWhitespaceNoCopy(t *testing.T) {
	in := []byte(`<a b="c"/>`)
	if out := NormalizeAttributeWhitespace(in); &out[0] != &in[0] {
		t.Error("input without attribute whitespace was copied")
	}
}
