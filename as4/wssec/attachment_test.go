package wssec

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
)

func TestAttachmentContentModes(t *testing.T) {
	for ct, want := range map[string]contentMode{
		"":                                       contentRaw,
		"application/gzip":                       contentRaw,
		"application/octet-stream":               contentRaw,
		"image/jpeg":                             contentRaw,
		"application/pdf":                        contentRaw,
		"application/xml":                        contentXML,
		"Application/XML; charset=UTF-8":         contentXML,
		"text/xml":                               contentXML,
		"text/xml;charset=utf-8":                 contentXML,
		"application/soap+xml; action=\"urn:x\"": contentXML,
		"application/vnd.oasis.ubl+xml":          contentXML,
		"image/svg+xml":                          contentXML,
		"text/plain":                             contentText,
		"TEXT/CSV; charset=ISO-8859-1":           contentText,
		"text/html":                              contentText,
		"application/json":                       contentRaw,
		"text/xml; broken=\"":                    contentXML, // unparsable parameters: the type still counts
	} {
		if got := attachmentContentMode(ct); got != want {
			t.Errorf("%q: mode %d, want %d", ct, got, want)
		}
	}
}

func TestCRLFCopy(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"a\nb":             "a\r\nb",
		"a\r\nb\rc\n\nd\r": "a\r\nb\r\nc\r\n\r\nd\r\n",
		"\r\r\n\n":         "\r\n\r\n\r\n",
	} {
		var out bytes.Buffer
		if err := crlfCopy(&out, strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("%q -> %q, want %q", in, out.String(), want)
		}
	}
}

func TestCanonicalXMLContent(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"declaration, comments and whitespace outside the root",
			"\ufeff<?xml version=\"1.0\"?>\n<!-- head -->\n<a>x<!-- in --></a>\n<!-- tail -->\n",
			"<a>x</a>"},
		{"PIs before and after", "<?p1 d?><a/><?p2?>", "<?p1 d?>\n<a></a>\n<?p2?>"},
		{"attribute whitespace: literal vs character reference",
			"<a x=\"1\t2\r\n3\n4\" y='&#9;&#10;&#13;'/>",
			"<a x=\"1 2 3 4\" y=\"&#x9;&#xA;&#xD;\"></a>"},
		{"markup in comments, CDATA and PIs is not a tag",
			"<a><!-- x=\"\n\" --><![CDATA[ y=\"\n\" ]]><?p z=\"\n\"?></a>",
			"<a> y=\"\n\" <?p z=\"\n\"?></a>"},
		{"text CRLF", "<a>1\r\n2\r3</a>", "<a>1\n2\n3</a>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := canonicalXMLContent(&out, strings.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got  %q\nwant %q", out.String(), tc.want)
			}
		})
	}
	for name, in := range map[string]string{
		"DOCTYPE":         `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`,
		"not well-formed": `<a><b></a>`,
		"no root":         `<?xml version="1.0"?>`,
		"encoding":        `<?xml version="1.0" encoding="Shift_JIS"?><a/>`,
	} {
		if err := canonicalXMLContent(&bytes.Buffer{}, strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	big := "<a>" + strings.Repeat("x", MaxXMLAttachmentBytes) + "</a>"
	if err := canonicalXMLContent(&bytes.Buffer{}, strings.NewReader(big)); !errors.Is(err, errXMLAttachmentTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

// TestDigestAttachmentModes: the precomputed SHA-256 is used only for parts
// digested as is; XML and text parts are read and transformed.
func TestDigestAttachmentModes(t *testing.T) {
	raw := []byte("<?xml version=\"1.0\"?>\n<a b='1'/>\n")
	sum := sha256.Sum256(raw)
	bogus := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct {
		ct     string
		pre    []byte
		digest []byte
	}{
		{"application/octet-stream", nil, sum[:]},
		{"application/octet-stream", bogus, bogus}, // trusted as computed while spooling
		{"application/xml", bogus, sha256sum("<a b=\"1\"></a>")},
		{"text/plain", bogus, sha256sum("<?xml version=\"1.0\"?>\r\n<a b='1'/>\r\n")},
	} {
		a := typedAttachment("p@x", tc.ct, raw)
		a.SHA256 = tc.pre
		got, err := digestAttachment(a, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tc.digest) {
			t.Errorf("%s: digest %x, want %x", tc.ct, got, tc.digest)
		}
	}
}

func sha256sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestXMLAttachmentRoundTrip: an XML payload signed as application/xml
// verifies however it is re-serialized (the canonical form is digested),
// fails when its content changes, and fails as "attachment-content" when it
// is not XML at all.
func TestXMLAttachmentRoundTrip(t *testing.T) {
	orig := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<inv:Invoice xmlns:inv=\"urn:x\" b='2' a=\"1\"><inv:ID>1</inv:ID><inv:Note/></inv:Invoice>\n")
	reformatted := []byte("<inv:Invoice a=\"1\" b=\"2\" xmlns:inv=\"urn:x\"><inv:ID>1</inv:ID><inv:Note></inv:Note></inv:Invoice>")
	atts := []Attachment{typedAttachment("inv@as4gw", "application/xml", orig)}
	wire, _, _ := signForCrossCheck(t, atts)
	env := reparseWire(t, wire)
	opts := VerifyOptions{Policy: DefaultPolicy(), Validator: getAttackPKI(t).validator()}
	for name, data := range map[string][]byte{"original": orig, "reformatted": reformatted} {
		if _, err := Verify(env, []Attachment{typedAttachment("inv@as4gw", "application/xml", data)}, opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	changed := bytes.Replace(orig, []byte(">1<"), []byte(">2<"), 1)
	_, err := Verify(env, []Attachment{typedAttachment("inv@as4gw", "application/xml", changed)}, opts)
	assertErr(t, err, wantErr{ebms.CodeFailedAuthentication, "digest", "cid:inv@as4gw"})
	_, err = Verify(env, []Attachment{typedAttachment("inv@as4gw", "application/xml", []byte("not xml"))}, opts)
	assertErr(t, err, wantErr{ebms.CodeFailedAuthentication, "attachment-content", "cid:inv@as4gw"})
	// The same octets typed as a binary part digest differently.
	_, err = Verify(env, []Attachment{typedAttachment("inv@as4gw", "application/octet-stream", orig)}, opts)
	assertErr(t, err, wantErr{ebms.CodeFailedAuthentication, "digest", "cid:inv@as4gw"})

	// A sender that digests XML parts as is (AS4.NET): accepted on the
	// exact octets, not on a re-serialization.
	rawSigned, _, _ := signForCrossCheck(t, []Attachment{typedAttachment("inv@as4gw", "application/octet-stream", orig)})
	rawEnv := reparseWire(t, rawSigned)
	if _, err := Verify(rawEnv, []Attachment{typedAttachment("inv@as4gw", "application/xml", orig)}, opts); err != nil {
		t.Errorf("raw-digested XML part: %v", err)
	}
	_, err = Verify(rawEnv, []Attachment{typedAttachment("inv@as4gw", "application/xml", reformatted)}, opts)
	assertErr(t, err, wantErr{ebms.CodeFailedAuthentication, "digest", "cid:inv@as4gw"})
}
