package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/as4/inspect"
	"github.com/as4gw/as4gw/internal/testutil"
)

// runInspect runs "as4gw inspect" in-process and returns the report and the
// exit status main would use.
func runInspect(t *testing.T, args ...string) (*inspect.Report, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"inspect"}, args...))
	err := root.Execute()
	code := 0
	if err != nil {
		code = 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	if out.Len() == 0 {
		return nil, code, errOut.String() + errString(err)
	}
	var rep inspect.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	return &rep, code, errString(err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func failedChecks(rep *inspect.Report) []string {
	var out []string
	for _, c := range rep.Checks {
		if !c.OK {
			out = append(out, c.Name+" "+c.Code)
		}
	}
	return out
}

func TestInspectVectors(t *testing.T) {
	v := testutil.VectorsDir(t)
	p := func(rel string) string { return filepath.Join(v, filepath.FromSlash(rel)) }
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantFailed []string // prefixes of failed check names with their code
		check      func(t *testing.T, rep *inspect.Report)
	}{
		{
			name:     "Holodeck signed, SKI resolved with --cert, both cid: digests",
			args:     []string{p("as4net/signed_holodeck_message.as4"), "--cert", p("as4net/AccessPointB.cer")},
			wantCode: 0,
			check: func(t *testing.T, rep *inspect.Report) {
				sig := rep.Security.Signature
				if sig.Signer.Subject != "CN=AccessPointB" || sig.TokenReference != "KeyIdentifier/SubjectKeyIdentifier" {
					t.Errorf("signer = %+v via %s", sig.Signer, sig.TokenReference)
				}
				if len(sig.References) != 4 {
					t.Fatalf("%d references, want 4", len(sig.References))
				}
				for _, r := range sig.References {
					if r.Result != "ok" {
						t.Errorf("reference %s: %s %s", r.URI, r.Result, r.Detail)
					}
				}
				if !strings.HasPrefix(sig.Trust, "not checked") {
					t.Errorf("trust = %q, want not checked without --trust", sig.Trust)
				}
				wantSHA := "060364613d88080a698ed6720d1a2288a30fdff223b4fb0cca280d3c3c67e93f"
				if rep.Payloads[0].SHA256 != wantSHA || *rep.Payloads[0].Size != 296454 {
					t.Errorf("payload 0 = %+v, want gunzipped sha256 %s", rep.Payloads[0], wantSHA)
				}
			},
		},
		{
			name:       "Holodeck signed without the SKI certificate",
			args:       []string{p("as4net/signed_holodeck_message.as4")},
			wantCode:   1,
			wantFailed: []string{"signer-certificate EBMS:0101", "signature (eDelivery AS4 policy) EBMS:0101"},
		},
		{
			name: "encrypted + signed, decrypted with --key, IssuerSerial signer from --cert",
			args: []string{p("as4net/as4-encrypted-signed-issuerserial.as4"), "--cert", p("as4net/AccessPointA.cer"),
				"--key", p("as4net/derived/AccessPointB.pfx.key.pem"), "--cert", p("as4net/AccessPointB.cer")},
			wantCode: 0,
			check: func(t *testing.T, rep *inspect.Report) {
				enc := rep.Security.Encryption
				if enc.Decrypted != "ok" || enc.Recipient != "CN=AccessPointB" || enc.KeyTransport != "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" {
					t.Errorf("encryption = %+v", enc)
				}
				got := map[string]bool{}
				for _, pl := range rep.Payloads {
					got[pl.SHA256] = true
				}
				for _, want := range []string{"060364613d88080a698ed6720d1a2288a30fdff223b4fb0cca280d3c3c67e93f"} {
					if !got[want] {
						t.Errorf("no payload with sha256 %s: %+v", want, rep.Payloads)
					}
				}
			},
		},
		{
			name:     "encrypted without --key: payloads reported as encrypted, not failed",
			args:     []string{p("as4net/_8_1_22_message.as4")},
			wantCode: 0,
			check: func(t *testing.T, rep *inspect.Report) {
				if !rep.Security.Encrypted || !strings.HasPrefix(rep.Security.Encryption.Decrypted, "not attempted") {
					t.Errorf("security = %+v", rep.Security.Encryption)
				}
				for _, pl := range rep.Payloads {
					if !pl.Encrypted || pl.SHA256 != "" {
						t.Errorf("payload %+v: want encrypted without digest", pl)
					}
				}
			},
		},
		{
			name:     "trust checked at a fixed time: helger receipt against the Peppol test CA",
			args:     []string{p("phase4/helger.as4in"), "--trust", p("phase4/derived/peppol-expired-ap-cert-pw-peppol.p12.cachain.pem"), "--at", "2022-03-07T12:00:00Z"},
			wantCode: 0,
			check: func(t *testing.T, rep *inspect.Report) {
				if rep.Security.Signature.Trust != "ok" || rep.EbMS.SignalMessages[0].Kind != "receipt" {
					t.Errorf("trust = %q, signal = %+v", rep.Security.Signature.Trust, rep.EbMS.SignalMessages)
				}
			},
		},
		{
			name:       "same receipt now: the signer certificate has expired",
			args:       []string{p("phase4/helger.as4in"), "--trust", p("phase4/derived/peppol-expired-ap-cert-pw-peppol.p12.cachain.pem")},
			wantCode:   1,
			wantFailed: []string{"signer-trust EBMS:0101", "signature (eDelivery AS4 policy) EBMS:0101"},
		},
		{
			name:       "Dataport receipt with a rewritten prefix: the Messaging digest fails",
			args:       []string{p("phase4/dataport1.as4in")},
			wantCode:   1,
			wantFailed: []string{"reference #id-4b28412d2948bca", "signature (eDelivery AS4 policy) EBMS:0101"},
		},
		{
			name:       "unknown SignatureMethod is a policy failure",
			args:       []string{p("phase4/WrongSigningAlgorithm.xml")},
			wantCode:   1,
			wantFailed: []string{"signature-value EBMS:0103", "signature (eDelivery AS4 policy) EBMS:0103"},
		},
		{
			name:       "unknown CompressionType",
			args:       []string{p("phase4/WrongCompression.mime")},
			wantCode:   1,
			wantFailed: []string{"payload ph-as4-0026b807-e599-40e2-af67-22f2e6fe4ddd EBMS:0003"},
		},
		{
			name:     "unsigned error signal",
			args:     []string{p("phase4/ErrorMessage.xml")},
			wantCode: 0,
			check: func(t *testing.T, rep *inspect.Report) {
				if rep.Security.Signed || rep.EbMS.SignalMessages[0].Kind != "error" || !strings.HasPrefix(rep.EbMS.SignalMessages[0].Errors[0], "EBMS:0001") {
					t.Errorf("report = %+v %+v", rep.Security, rep.EbMS.SignalMessages)
				}
			},
		},
		{
			name:       "not an AS4 message",
			args:       []string{p("MANIFEST.md")},
			wantCode:   1,
			wantFailed: []string{"read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, code, msg := runInspect(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (%s); failed checks: %v", code, tt.wantCode, msg, failedIfAny(rep))
			}
			if rep == nil {
				t.Fatal("no report")
			}
			got := failedChecks(rep)
			if len(got) != len(tt.wantFailed) {
				t.Fatalf("failed checks %v, want %v", got, tt.wantFailed)
			}
			for i, w := range tt.wantFailed {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("failed check %d = %q, want prefix %q", i, got[i], w)
				}
			}
			if rep.OK != (code == 0) {
				t.Errorf("ok = %v with exit %d", rep.OK, code)
			}
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

func failedIfAny(rep *inspect.Report) []string {
	if rep == nil {
		return nil
	}
	return failedChecks(rep)
}

func TestInspectUsageErrors(t *testing.T) {
	dir := t.TempDir()
	msg := filepath.Join(dir, "m.xml")
	if err := os.WriteFile(msg, []byte("<x/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"missing file", []string{filepath.Join(dir, "absent")}},
		{"bad --at", []string{msg, "--at", "yesterday"}},
		{"unknown flag", []string{msg, "--frobnicate"}},
		{"unreadable --trust", []string{msg, "--trust", filepath.Join(dir, "absent.pem")}},
		{"--key that is not a key", []string{msg, "--key", msg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, msg := runInspect(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d (%s), want 2", code, msg)
			}
		})
	}
}
