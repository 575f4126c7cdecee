package soap

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type vectorPart struct {
	cid  string
	size int64
}

type vectorExpectation struct {
	format  CaptureFormat
	version Version
	parts   []vectorPart // attachments (root excluded), from MANIFEST.md
}

// vectorExpectations lists every message vector with what MANIFEST.md says
// about it. Files that contain an Envelope but are missing here are still
// read; the test logs them so the table can be extended.
var vectorExpectations = map[string]vectorExpectation{
	"phase4/helger.as4in":                    {CaptureHTTP, SOAP12, nil},
	"phase4/dataport1.as4in":                 {CaptureHTTP, SOAP12, nil},
	"phase4/dump-raw.as4out":                 {CaptureMIMEHeaders, SOAP12, []vectorPart{{"phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid", 2263}}},
	"phase4/TestReceipt12.xml":               {CaptureXML, SOAP12, nil},
	"phase4/TestReceipt11.xml":               {CaptureXML, SOAP11, nil},
	"phase4/TestMessage11.xml":               {CaptureXML, SOAP11, nil},
	"phase4/from-holodeck-1.xml":             {CaptureXML, SOAP12, nil},
	"phase4/WrongSigningAlgorithm.xml":       {CaptureXML, SOAP12, nil},
	"phase4/WrongSigningDigestAlgorithm.xml": {CaptureXML, SOAP12, nil},
	"phase4/ErrorMessage.xml":                {CaptureXML, SOAP12, nil},
	"phase4/ErrorMessageWithFault.xml":       {CaptureXML, SOAP12, nil},
	"phase4/WrongCompression.mime":           {CaptureMIMEHeaders, SOAP12, []vectorPart{{"ph-as4-0026b807-e599-40e2-af67-22f2e6fe4ddd", 721}}},
	"phase4/test-2023-03-15.xml":             {CaptureXML, SOAP12, nil},
	"as4net/signed_holodeck_message.as4": {CaptureBareMultipart, SOAP12, []vectorPart{
		{"cdcc838c-96ed-414a-b127-0937f5cd654-341439240@CLT-FGHEYSELS.ad.codit.eu", 296385},
		{"cdcc838c-96ed-414a-b127-0937f5cd654-445037483@CLT-FGHEYSELS.ad.codit.eu", 164},
	}},
	"as4net/as4-encrypted-signed-issuerserial.as4": {CaptureBareMultipart, SOAP12, []vectorPart{
		{"b545c3a0-e57f-46aa-862f-381eb4b7009-291596031@CLT-SMOREELS.mshome.net", 296413},
		{"b545c3a0-e57f-46aa-862f-381eb4b7009-1650194442@CLT-SMOREELS.mshome.net", 192},
	}},
	"as4net/_8_1_22_message.as4": {CaptureBareMultipart, SOAP12, []vectorPart{
		{"3bb59c77-a1bc-4ea5-9159-8152bd8f618-1833056104@CLT-FGHEYSELS.ad.codit.eu", 296482},
		{"3bb59c77-a1bc-4ea5-9159-8152bd8f618-335174759@CLT-FGHEYSELS.ad.codit.eu", 234},
	}},
	"as4net/as4-encrypted-compressed-message.as4": {CaptureBareMultipart, SOAP12, []vectorPart{
		{"flower", 290189},
		{"xmldoc", 114},
	}},
	"as4net/8.1.21-message.xml":     {CaptureXML, SOAP12, nil},
	"as4net/as4_flame_envelope.as4": {CaptureXML, SOAP12, nil},
	"as4net/c3_minderreceiveagent_request.as4": {CaptureBareMultipart, SOAP12, []vectorPart{
		{"xmlpayload@minder", 79},
		{"custompayload@minder", 95},
	}},
	"as4net/as4-soap-signed-message.txt":                          {CaptureXML, SOAP12, nil},
	"as4net/as4-soap-signed-pullrequest.xml":                      {CaptureXML, SOAP12, nil},
	"as4net/as4-multihop-message.as4":                             {CaptureBareMultipart, SOAP12, nil},
	"as4net/as4-pullrequest-warning.xml":                          {CaptureXML, SOAP12, nil},
	"as4net/Receipt_InvalidNRI_Namespace.as4":                     {CaptureBareMultipart, SOAP12, nil},
	"as4net/as4-soap-untrusted-signed-message.txt":                {CaptureXML, SOAP12, nil},
	"as4net/as4-soap-wrong-signed-message.txt":                    {CaptureXML, SOAP12, nil},
	"as4net/receipt_with_invalid_signature.as4":                   {CaptureXML, SOAP12, nil},
	"as4net/multihopreceipt.xml":                                  {CaptureXML, SOAP12, nil},
	"domibus/SoapRequest.xml":                                     {CaptureXML, SOAP12, nil},
	"domibus/ski_incoming_message.xml":                            {CaptureXML, SOAP12, nil},
	"domibus/is_incoming_message.xml":                             {CaptureXML, SOAP12, nil},
	"domibus/bst_x509v3_incoming_message.xml":                     {CaptureXML, SOAP12, nil},
	"domibus/bst_X509PKIPathv1_incoming_message.xml":              {CaptureXML, SOAP12, nil},
	"domibus/MSHAS4Response.xml":                                  {CaptureXML, SOAP12, nil},
	"harmony/soapEnvelope-PullRequest.xml":                        {CaptureXML, SOAP12, nil},
	"harmony/soapEnvelope-SignalMessage-receipt-pull.xml":         {CaptureXML, SOAP12, nil},
	"harmony/soapEnvelope-UserMessage-receipt-split-and-join.xml": {CaptureXML, SOAP12, nil},
	"harmony/soapEnvelope-SignalMessage-error.xml":                {CaptureXML, SOAP12, nil},
}

// envelopeVectors lists the vector files that contain an Envelope (the
// MANIFEST itself excluded), relative to dir.
func envelopeVectors(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == "MANIFEST.md" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("Envelope")) {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestReadCapturedVectors(t *testing.T) {
	dir := vectorsDir(t)
	files := envelopeVectors(t, dir)
	seen := make(map[string]bool)
	for _, rel := range files {
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			spool := t.TempDir()
			f, err := os.Open(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			msg, info, err := ReadCapturedInfo(f, "", DefaultLimits(), spool)
			if err != nil {
				t.Fatalf("ReadCaptured: %v", err)
			}
			defer func() {
				if err := msg.Close(); err != nil {
					t.Error(err)
				}
				assertDirEmpty(t, spool)
			}()
			if msg.Envelope == nil || msg.Envelope.Body == nil {
				t.Fatal("no envelope or no Body")
			}
			var parts []string
			for _, a := range msg.Attachments {
				parts = append(parts, fmt.Sprintf("<%s> %d bytes", a.ContentID, a.Size))
			}
			t.Logf("format=%s version=%s attachments=%d %v content-type=%q", info.Format, msg.Envelope.Version, len(msg.Attachments), parts, info.ContentType)

			want, ok := vectorExpectations[rel]
			if !ok {
				t.Logf("no expectation recorded for %s; add it from MANIFEST.md", rel)
				return
			}
			if info.Format != want.format {
				t.Errorf("format %s, want %s", info.Format, want.format)
			}
			if msg.Envelope.Version != want.version {
				t.Errorf("version %s, want %s", msg.Envelope.Version, want.version)
			}
			if len(msg.Attachments) != len(want.parts) {
				t.Fatalf("%d attachments, want %d", len(msg.Attachments), len(want.parts))
			}
			for i, wp := range want.parts {
				a := msg.Attachments[i]
				if a.ContentID != wp.cid || a.Size != wp.size {
					t.Errorf("attachment %d: <%s> %d bytes, want <%s> %d bytes", i, a.ContentID, a.Size, wp.cid, wp.size)
				}
				checkSpooledContent(t, a)
				if got, err := msg.AttachmentByCID("cid:" + wp.cid); err != nil || got != a {
					t.Errorf("AttachmentByCID(cid:%s) = %v, %v", wp.cid, got, err)
				}
			}
		})
	}
	for rel := range vectorExpectations {
		if !seen[rel] {
			t.Errorf("expected vector %s was not found (or holds no Envelope)", rel)
		}
	}
}

// checkSpooledContent re-reads the spooled file and checks Size and SHA256.
func checkSpooledContent(t *testing.T, a *Attachment) {
	t.Helper()
	rc, err := a.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if n != a.Size || sum != a.SHA256 {
		t.Errorf("<%s>: spooled %d bytes sha256 %x, recorded %d bytes %x", a.ContentID, n, sum, a.Size, a.SHA256)
	}
}

// TestVectorAttachmentDigestsMatchSignature ties the MIME reader to an
// independent result: MANIFEST.md reports that the cid: DigestValues of
// signed_holodeck_message.as4 match the raw attachment octets, so our
// spooled SHA-256 must equal them byte for byte.
func TestVectorAttachmentDigestsMatchSignature(t *testing.T) {
	data := readVector(t, "as4net/signed_holodeck_message.as4")
	msg, err := ReadCaptured(bytes.NewReader(data), "", DefaultLimits(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	const dsig = "http://www.w3.org/2000/09/xmldsig#"
	checked := 0
	for _, ref := range msg.Envelope.Root.FindElements("//Reference") {
		if ref.NamespaceURI() != dsig {
			continue
		}
		uri := ref.SelectAttrValue("URI", "")
		if !strings.HasPrefix(uri, "cid:") {
			continue
		}
		dv := ref.FindElement("DigestValue")
		if dv == nil {
			t.Fatalf("reference %s has no DigestValue", uri)
		}
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(dv.Text()))
		if err != nil {
			t.Fatal(err)
		}
		att, err := msg.AttachmentByCID(uri)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(att.SHA256[:], want) {
			t.Errorf("%s: sha256 %x, signed digest %x", uri, att.SHA256, want)
		}
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d cid: references, want 2", checked)
	}
}

// TestVectorEnvelopeBytesExact checks that EnvelopeBytes is the root part
// exactly as stored (signature verification depends on it).
func TestVectorEnvelopeBytesExact(t *testing.T) {
	data := readVector(t, "as4net/signed_holodeck_message.as4")
	msg, err := ReadCaptured(bytes.NewReader(data), "", DefaultLimits(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	if !bytes.Contains(data, msg.EnvelopeBytes) {
		t.Fatal("EnvelopeBytes is not a substring of the stored message")
	}
	if !bytes.HasPrefix(msg.EnvelopeBytes, []byte("<?xml version='1.0'")) || !bytes.HasSuffix(msg.EnvelopeBytes, []byte("</soapenv:Envelope>")) {
		t.Fatalf("EnvelopeBytes boundaries wrong: %q ... %q", msg.EnvelopeBytes[:40], msg.EnvelopeBytes[len(msg.EnvelopeBytes)-40:])
	}
	if msg.RootContentID != "0.8cb27a6f984295aa9962b01ef2fb3e8d982de76d061ab23f@apache.org" {
		t.Errorf("root Content-ID %q", msg.RootContentID)
	}
}
