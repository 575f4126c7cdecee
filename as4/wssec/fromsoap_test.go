package wssec

import (
	"crypto/sha256"
	"io"
	"testing"
)

func TestFromSOAP(t *testing.T) {
	if env, atts := FromSOAP(nil); env.Root != nil || atts != nil {
		t.Error("FromSOAP(nil) is not empty")
	}
	if env := EnvelopeFromSOAP(nil); env.Root != nil {
		t.Error("EnvelopeFromSOAP(nil) is not empty")
	}
	m := readVector(t, "as4net/signed_holodeck_message.as4")
	env, atts := FromSOAP(m)
	if env.Root != m.Envelope.Root || env.Header != m.Envelope.Header || env.Body != m.Envelope.Body {
		t.Error("FromSOAP does not hand out the parsed tree itself")
	}
	if len(atts) != len(m.Attachments) || len(atts) != 2 {
		t.Fatalf("%d attachments", len(atts))
	}
	for i, a := range atts {
		p := m.Attachments[i]
		if a.ContentID != p.ContentID || a.ContentType != p.ContentType || string(a.SHA256) != string(p.SHA256[:]) {
			t.Errorf("attachment %d: %+v vs %+v", i, a, p)
		}
		rc, err := a.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(data) != p.SHA256 || int64(len(data)) != p.Size {
			t.Errorf("attachment %d: Open does not return the spooled octets", i)
		}
		// The digest slice is a copy: changing it does not touch the part.
		a.SHA256[0] ^= 1
		if a.SHA256[0] == p.SHA256[0] {
			t.Error("Attachment.SHA256 aliases soap.Attachment.SHA256")
		}
	}
}
