package xenc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/ebms"
)

// spooledAttachment reads a one-part message so the test gets a real
// soap.Attachment backed by a spool file.
func spooledAttachment(t *testing.T, cid string, data []byte) *soap.Attachment {
	t.Helper()
	var wire bytes.Buffer
	mw := soap.NewWriter(&wire)
	env := soap.NewEnvelope(soap.SOAP12)
	b, _ := env.Bytes()
	mw.WriteEnvelope(b)
	if _, err := mw.WriteAttachment(cid, "application/gzip", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	mw.Close()
	msg, _ := readMessage(t, wire.Bytes(), mw.ContentType())
	return msg.Attachments[0]
}

func partInfo(cid, compression string) *ebms.PartInfo {
	pi := &ebms.PartInfo{Href: soap.CIDURL(cid)}
	if compression != "" {
		pi.PartProperties = append(pi.PartProperties, ebms.Property{Name: ebms.PartPropertyCompressionType, Value: compression})
	}
	return pi
}

func readAllPayload(t *testing.T, att *soap.Attachment, pi *ebms.PartInfo, max int64) ([]byte, error) {
	t.Helper()
	rc, err := OpenPayload(att, pi, max)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestOpenPayload(t *testing.T) {
	plain := bytes.Repeat([]byte("payload "), 5000)
	var z bytes.Buffer
	soap.Compress(&z, bytes.NewReader(plain))

	att := spooledAttachment(t, "p@x", z.Bytes())
	got, err := readAllPayload(t, att, partInfo("p@x", "application/gzip"), 0)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("gzip: %v", err)
	}
	got, err = readAllPayload(t, att, partInfo("p@x", "Application/GZIP"), 0)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("media type case: %v", err)
	}
	got, err = readAllPayload(t, att, partInfo("p@x", ""), 0)
	if err != nil || !bytes.Equal(got, z.Bytes()) {
		t.Fatalf("uncompressed: %v", err)
	}

	var pe *PayloadError
	_, err = readAllPayload(t, att, partInfo("p@x", "application/gzip"), 1000)
	var le *soap.LimitError
	if !errors.As(err, &pe) || pe.Code != ebms.CodeDecompressionFailure || !errors.As(err, &le) {
		t.Fatalf("over the limit: %v", err)
	}

	corrupt := bytes.Clone(z.Bytes())
	corrupt[len(corrupt)/2] ^= 0xff
	att = spooledAttachment(t, "c@x", corrupt)
	_, err = readAllPayload(t, att, partInfo("c@x", "application/gzip"), 0)
	var de *soap.DecompressionError
	if !errors.As(err, &pe) || pe.Code != ebms.CodeDecompressionFailure || !errors.As(err, &de) {
		t.Fatalf("corrupt gzip: %v", err)
	}

	att = spooledAttachment(t, "n@x", []byte("not gzip at all"))
	if _, err = readAllPayload(t, att, partInfo("n@x", "application/gzip"), 0); !errors.As(err, &pe) || pe.Code != ebms.CodeDecompressionFailure {
		t.Fatalf("not gzip: %v", err)
	}

	if _, err := OpenPayload(att, partInfo("other@x", ""), 0); !errors.As(err, &pe) || pe.Code != ebms.CodeValueInconsistent {
		t.Fatalf("PartInfo for another part: %v", err)
	}
	if _, err := OpenPayload(att, partInfo("n@x", "application/x-bzip2"), 0); !errors.As(err, &pe) || pe.Code != ebms.CodeValueInconsistent {
		t.Fatalf("unknown compression: %v", err)
	}
}
