package wssec

import (
	"errors"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestDiagnoseReportsEveryReference(t *testing.T) {
	signer := testpki.Must(testpki.NewSelfSigned(testpki.Spec{CommonName: "AP-DIAG"}))
	atts := []Attachment{memAttachment("one@test", []byte("first")), memAttachment("two@test", []byte("second"))}
	_, env := parseEnvelope(t, []byte(testEnvelope))
	if _, err := Sign(env, atts, SignOptions{Key: signer.Signer(), Certificate: signer.Certificate, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Tamper with the Body and swap one attachment: Verify stops at the first
	// problem, Diagnose must report each reference on its own.
	env.Body.CreateElement("injected")
	swapped := []Attachment{atts[0], memAttachment("two@test", []byte("SECOND"))}

	d := Diagnose(env, swapped, map[string]string{}, nil)
	if !d.Signed || d.Err != nil || d.TokenErr != nil {
		t.Fatalf("diagnosis = %+v", d)
	}
	if !d.SignatureValueChecked || d.SignatureValueErr != nil {
		t.Errorf("SignatureValue: checked=%v err=%v, want checked and valid", d.SignatureValueChecked, d.SignatureValueErr)
	}
	results := map[string]string{}
	for _, r := range d.References {
		var we *Error
		switch {
		case !r.Checked:
			results[r.Target] = "skipped"
		case r.Err == nil:
			results[r.Target+" "+r.URI[:3]] = "ok"
		case errors.As(r.Err, &we):
			results[r.Target+" "+r.URI[:3]] = we.Check
		}
	}
	want := map[string]string{
		TargetMessaging + " #id": "ok",
		TargetBody + " #id":      "digest",
		"wsu:Timestamp #TS":      "ok",
	}
	for k, v := range want {
		if results[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, results[k], v, results)
		}
	}
	var okParts, badParts int
	for _, r := range d.References {
		if r.Target == TargetAttachment {
			if r.Err == nil {
				okParts++
			} else {
				badParts++
			}
		}
	}
	if okParts != 1 || badParts != 1 {
		t.Errorf("attachments: %d ok, %d failed; want 1 and 1", okParts, badParts)
	}

	// An attachment that cannot be read (still encrypted) is reported as not checked.
	d = Diagnose(env, atts[:1], map[string]string{"two@test": "encrypted"}, nil)
	var skipped int
	for _, r := range d.References {
		if !r.Checked && r.Skipped == "encrypted" {
			skipped++
		}
	}
	if skipped != 1 {
		t.Errorf("skipped references = %d, want 1", skipped)
	}

	// An unsigned message is diagnosed as such.
	_, plain := parseEnvelope(t, []byte(testEnvelope))
	if d := Diagnose(plain, nil, nil, nil); d.Signed || d.Err != nil {
		t.Errorf("unsigned: %+v", d)
	}
}
