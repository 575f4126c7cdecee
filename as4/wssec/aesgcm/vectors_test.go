package aesgcm

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"github.com/as4gw/as4gw/internal/testutil"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// vectorsDir is ../shared/vectors, read in place (see internal/testutil: it
// skips where the folder is absent, and fails in CI).
func vectorsDir(t *testing.T) string {
	t.Helper()
	return testutil.VectorsDir(t)
}

var (
	// Elements are matched with or without a namespace prefix: AS4.NET
	// writes default-namespace XML, Holodeck prefixed.
	reEncryptedKey = regexp.MustCompile(`(?s)<(?:\w+:)?EncryptedKey\b.*?</(?:\w+:)?EncryptedKey>`)
	reKTMethod     = regexp.MustCompile(`<(?:\w+:)?EncryptionMethod Algorithm="([^"]+)"`)
	reDigest       = regexp.MustCompile(`<(?:\w+:)?DigestMethod\b[^>]*Algorithm="([^"]+)"`)
	reMGF          = regexp.MustCompile(`<(?:\w+:)?MGF\b[^>]*Algorithm="([^"]+)"`)
	reOAEPparams   = regexp.MustCompile(`<(?:\w+:)?OAEPparams>([^<]*)<`)
	reCipherValue  = regexp.MustCompile(`<(?:\w+:)?CipherValue>([^<]+)</(?:\w+:)?CipherValue>`)
	reDataMethod   = regexp.MustCompile(`(?s)<(?:\w+:)?EncryptedData\b.*?<(?:\w+:)?EncryptionMethod Algorithm="([^"]+)"`)
	reBoundary     = regexp.MustCompile(`(?m)^--([^\r\n]+?)\r?$`)
	// MANIFEST: "Decryption of `cid:X` via ...: rc=0, plaintext N bytes sha256 `H`"
	reManifestDecryption = regexp.MustCompile("Decryption of `cid:([^`]+)`[^\n]*?plaintext (\\d+) bytes sha256 `([0-9a-f]{64})`")
)

// TestInteropVectors unwraps the EncryptedKey of real Holodeck B2B and AS4.NET
// messages and decrypts their attachments with Decrypt, comparing the
// plaintext with the SHA-256 the vector MANIFEST lists (obtained there with
// openssl + xmlsec1). The XML is picked apart crudely with regexps: parsing
// WS-Security properly is the XML layer's job.
func TestInteropVectors(t *testing.T) {
	dir := vectorsDir(t)
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file, key string
		alg       string // key transport algorithm the MANIFEST lists
		hash, mgf crypto.Hash
	}{
		{"as4net/_8_1_22_message.as4", "as4net/derived/AccessPointB.pfx.key.pem", RSAOAEPMGF1P, crypto.SHA256, crypto.SHA1},
		{"as4net/as4-encrypted-signed-issuerserial.as4", "as4net/derived/AccessPointB.pfx.key.pem", RSAOAEPMGF1P, crypto.SHA256, crypto.SHA1},
		{"as4net/as4-encrypted-compressed-message.as4", "as4net/derived/partyC.p12.key.pem", RSAOAEP, crypto.SHA256, crypto.SHA1},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			priv := loadPKCS8(t, filepath.Join(dir, c.key))
			parts := mimeParts(t, msg)

			// The root part holds the envelope.
			env := parts[""]
			ek := reEncryptedKey.Find(env)
			if ek == nil {
				t.Fatal("no EncryptedKey in the envelope")
			}
			alg := submatch(reKTMethod, ek)
			params, err := ParseOAEPParams(alg, submatch(reDigest, ek), submatch(reMGF, ek))
			if err != nil {
				t.Fatal(err)
			}
			if params.Algorithm != c.alg || params.Hash != c.hash || params.MGFHash != c.mgf {
				t.Fatalf("params %+v, MANIFEST says %s %v/%v", params, c.alg, c.hash, c.mgf)
			}
			if err := CheckOAEPLabel(submatch(reOAEPparams, ek)); err != nil {
				t.Fatal(err)
			}
			wrapped, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(submatch(reCipherValue, ek)), ""))
			if err != nil {
				t.Fatal(err)
			}
			dataAlg := submatch(reDataMethod, env)
			cek, err := UnwrapKeyFor(priv, wrapped, params, dataAlg)
			if err != nil {
				t.Fatalf("unwrap (%s, %s): %v", alg, dataAlg, err)
			}
			t.Logf("unwrapped %d-byte key for %s with %s digest %v MGF1 %v", len(cek), dataAlg, alg, params.Hash, params.MGFHash)

			expected := manifestDecryptions(t, manifest, c.file)
			for cid, want := range expected {
				ct, ok := parts[cid]
				if !ok {
					t.Fatalf("no MIME part %s", cid)
				}
				var plain bytes.Buffer
				n, err := Decrypt(&plain, bytes.NewReader(ct), cek, tempSpool(t, nil))
				if err != nil {
					t.Fatalf("%s: %v", cid, err)
				}
				sum := sha256.Sum256(plain.Bytes())
				if n != want.size || hex.EncodeToString(sum[:]) != want.sha256 {
					t.Fatalf("%s: %d bytes sha256 %x, MANIFEST: %d bytes %s", cid, n, sum, want.size, want.sha256)
				}
				t.Logf("cid:%s: %d bytes, sha256 %x matches MANIFEST", cid, n, sum)

				// Tampering with the real attachment must be caught too.
				bad := bytes.Clone(ct)
				bad[len(bad)/2] ^= 0x80
				plain.Reset()
				if _, err := Decrypt(&plain, bytes.NewReader(bad), cek, tempSpool(t, nil)); err != ErrAuthentication || plain.Len() != 0 {
					t.Fatalf("%s tampered: %v, %d bytes released", cid, err, plain.Len())
				}
			}
		})
	}
}

func submatch(re *regexp.Regexp, b []byte) string {
	m := re.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func loadPKCS8(t *testing.T, path string) crypto.Decrypter {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := k.(crypto.Decrypter)
	if !ok {
		t.Fatalf("%s: %T is not a Decrypter", path, k)
	}
	return d
}

// mimeParts splits a stored multipart body (no HTTP headers: the boundary is
// taken from the first delimiter line) into raw part bodies keyed by
// Content-ID without angle brackets; the first part is also stored under "".
func mimeParts(t *testing.T, msg []byte) map[string][]byte {
	t.Helper()
	boundary := submatch(reBoundary, msg)
	if boundary == "" {
		t.Fatal("no MIME boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(msg), boundary)
	parts := map[string][]byte{}
	for i := 0; ; i++ {
		p, err := mr.NextRawPart() // never decode Content-Transfer-Encoding
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			parts[""] = body
		}
		if id := strings.Trim(p.Header.Get("Content-Id"), "<> "); id != "" {
			parts[id] = body
		}
	}
	return parts
}

type manifestEntry struct {
	size   int64
	sha256 string
}

// manifestDecryptions returns the plaintext size and SHA-256 per cid listed in
// file's section of MANIFEST.md.
func manifestDecryptions(t *testing.T, manifest []byte, file string) map[string]manifestEntry {
	t.Helper()
	heading := "### `" + file + "`"
	start := bytes.Index(manifest, []byte(heading))
	if start < 0 {
		t.Fatalf("MANIFEST has no section %s", heading)
	}
	section := manifest[start+len(heading):]
	if end := bytes.Index(section, []byte("\n### ")); end >= 0 {
		section = section[:end]
	}
	out := map[string]manifestEntry{}
	for _, m := range reManifestDecryption.FindAllSubmatch(section, -1) {
		size, _ := strconv.ParseInt(string(m[2]), 10, 64)
		out[string(m[1])] = manifestEntry{size, string(m[3])}
	}
	if len(out) == 0 {
		t.Fatalf("MANIFEST section %s lists no decryption results", file)
	}
	return out
}
