package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/pmode"
)

// TestTFOnboarding runs DIGG's onboarding cases (sdk-profile.md, "DIGG's
// onboarding tests") and the discovery failures the SDK asks the sending
// participant to be told of, against a simulated QA federation: SML (DNS)
// and SMP on loopback, three trust stores with OCSP under hard fail, and
// access points run by runGatewayFile with mutual TLS. Message services
// submit XHE envelopes through the backend API and learn outcomes from
// GET /api/v1/messages/{id} and /api/v1/events. Subtests share one
// federation and run in order (the retry case moves AP1's clock, so it is
// last). go test -run TF selects them; -short skips TF08 (70 MB).
func TestTFOnboarding(t *testing.T) {
	f := startSDKFederation(t)
	ap1, ap2 := f.ap1, f.ap2

	var ocspDown string // retried until the retries are spent (last subtest)

	t.Run("TF01_send_receipt", func(t *testing.T) {
		id := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkRecipient))
		m := ap1.waitMessage(t, id, "a final status", final)
		// AP1 records ACKNOWLEDGED only for a receipt signed by the certificate
		// the SMP gave and echoing the digests it signed (NRR).
		if m.Status != "ACKNOWLEDGED" || m.Receipt == nil || m.Receipt.MessageID == "" {
			t.Fatalf("want ACKNOWLEDGED with a verified receipt, got %+v", m)
		}
		if m.FinalRecipient.ID != sdkRecipient || m.Action != pmode.SDKActionMessage {
			t.Errorf("headers derived from the XHE: finalRecipient %q action %q", m.FinalRecipient.ID, m.Action)
		}
		// Discovery found AP2, which AP1 addressed by the CN of its certificate.
		if in, _ := ap2.message(t, id); in.From.ID != "AP0001-SDK-QA" || in.To.ID != "AP0002-SDK-QA" || in.FinalRecipient.ID != sdkRecipient {
			t.Errorf("AP2 received from %q to %q for %q", in.From.ID, in.To.ID, in.FinalRecipient.ID)
		}
		wantEvent(t, ap1, id, "ACKNOWLEDGED", "")
	})

	t.Run("TF01_send_with_explicit_headers", func(t *testing.T) {
		// A message service may give the AS4 headers itself; the
		// conversationId must then be the XHE's Header/ID.
		id := ap1.submitWithHeaders(t, sdkSender, sdkRecipient, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkRecipient))
		if m := ap1.waitMessage(t, id, "a final status", final); m.Status != "ACKNOWLEDGED" {
			code, detail := m.lastError()
			t.Fatalf("want ACKNOWLEDGED, got %s %s: %s", m.Status, code, detail)
		}
	})

	t.Run("TF02_receiver_certificate_revoked", func(t *testing.T) {
		id := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkRevoked))
		m := ap1.waitMessage(t, id, "a final status", final)
		code, detail := m.lastError()
		if m.Status != "SEND_FAILURE" || code != "RECEIVER_CERTIFICATE_REJECTED" || !strings.Contains(detail, "AP0003-SDK-QA") || !strings.Contains(detail, "revoked") {
			t.Fatalf("want SEND_FAILURE RECEIVER_CERTIFICATE_REJECTED naming the revoked AP0003-SDK-QA, got %s %s: %s", m.Status, code, detail)
		}
		wantEvent(t, ap1, id, "SEND_FAILURE", "RECEIVER_CERTIFICATE_REJECTED")
		if ap2.inboxHas(t, id) {
			t.Error("delivered to an access point with a revoked certificate")
		}
	})

	t.Run("TF03_sender_from_other_environment", func(t *testing.T) {
		// An access point with a PROD certificate (whose operator wrongly
		// trusts QA too) sends to AP2 in QA: AP2 refuses the signature.
		apP := f.apP
		id := apP.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkProdOrg, sdkRecipient))
		m := apP.waitMessage(t, id, "a final status", final)
		code, detail := m.lastError()
		if m.Status != "SEND_FAILURE" || code != "EBMS:0101" {
			t.Fatalf("want SEND_FAILURE with EBMS:0101 from AP2, got %s %s: %s", m.Status, code, detail)
		}
		if ap2.inboxHas(t, id) {
			t.Error("AP2 delivered a message signed with a PROD certificate")
		}
		if _, code := ap2.message(t, id); code != http.StatusNotFound {
			t.Errorf("AP2 stored the refused message: GET answers %d", code)
		}
		// A TLS client certificate from another CA does not get past AP2's handshake.
		roots := x509.NewCertPool()
		roots.AddCert(f.pki.tlsCA.Certificate)
		// (Presented even though AP2 does not list its CA as acceptable.)
		outsider := tlsCert(f.pki.outsiderTLS, f.pki.otherTLSCA)
		presented := false
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { presented = true; return &outsider, nil }}}}
		if resp, err := c.Post(ap2.as4URL, "application/soap+xml", strings.NewReader("<x/>")); err == nil {
			resp.Body.Close()
			t.Errorf("AP2 answered HTTP %d to a client certificate from another TLS CA", resp.StatusCode)
		}
		if !presented {
			t.Error("AP2 did not ask for a client certificate")
		}
	})

	t.Run("TF04_receive_and_receipt", func(t *testing.T) {
		xhe := sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkRecipient)
		id := ap1.submitXHE(t, xhe)
		if m := ap1.waitMessage(t, id, "a final status", final); m.Status != "ACKNOWLEDGED" {
			t.Fatalf("sender: %+v", m)
		}
		if !ap2.inboxHas(t, id) {
			t.Fatalf("AP2's inbox does not list %s", id)
		}
		if got := ap2.download(t, id, "message"); !bytes.Equal(got, xhe) {
			t.Errorf("AP2 delivers %d bytes, not the %d sent", len(got), len(xhe))
		}
	})

	for _, tc := range []struct{ name, file string }{
		{"TF06_maximal_xhe", "tf06-maximal.xml"},
		{"TF07_minimal_xhe", "tf07-minimal.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xhe := sdkXHE(t, tc.file, sdkSender, sdkRecipient)
			id := ap1.submitXHE(t, xhe)
			if m := ap1.waitMessage(t, id, "a final status", final); m.Status != "ACKNOWLEDGED" {
				t.Fatalf("%+v", m)
			}
			if got := ap2.download(t, id, "message"); !bytes.Equal(got, xhe) {
				t.Errorf("AP2 delivers %d bytes, not the %d sent", len(got), len(xhe))
			}
		})
	}

	t.Run("TF08_70MB", func(t *testing.T) {
		if testing.Short() {
			t.Skip("70 MB through two gateways")
		}
		// SDK content is encrypted end to end by the message services, so the
		// attachment is incompressible (random) and crosses the wire at full
		// size; it is generated while it is sent, never held in memory.
		const size = 70 << 20
		sum := sha256.New()
		xhe := sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkRecipient)
		code, out := ap1.submit(t, nil,
			sdkPart{"message", "text/xml", bytes.NewReader(xhe)},
			sdkPart{"attachment", "application/octet-stream", io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{8}), size), sum)})
		if code != http.StatusAccepted {
			t.Fatalf("submission: HTTP %d %v", code, out)
		}
		id := out["messageId"].(string)
		if m := ap1.waitMessageFor(t, id, 3*time.Minute, "a final status", final); m.Status != "ACKNOWLEDGED" {
			t.Fatalf("%+v", m)
		}
		m, _ := ap2.message(t, id)
		want := hex.EncodeToString(sum.Sum(nil))
		for _, p := range m.Payloads {
			if p.ID == "attachment" && (p.Size != size || p.SHA256 != want) {
				t.Errorf("AP2 holds %d bytes sha256 %s, want %d bytes %s", p.Size, p.SHA256, size, want)
			}
		}
		if len(m.Payloads) != 2 {
			t.Errorf("AP2 holds payloads %+v", m.Payloads)
		}
	})

	t.Run("TF09_malformed_xhe", func(t *testing.T) {
		// Control: the test bed's well-formed message gets a receipt, so the
		// refusals below are about the XHE and nothing else.
		if status, resp, _ := f.testBedSend(t, sdkXHEKeepID(t, "tf07-minimal.xml")); status != http.StatusOK || !strings.Contains(resp, "Receipt>") {
			t.Fatalf("test bed control message: HTTP %d\n%.2000s", status, resp)
		}
		for _, name := range []string{"id-not-uuid", "xml-truncated", "xml-xxe", "toparty-missing", "scope-no-federationid", "payloads-two", "empty-element"} {
			t.Run(name, func(t *testing.T) { f.wantRefused(t, sdkXHEKeepID(t, "tf09/"+name+".xml")) })
		}
		bad := sdkXHE(t, "tf09/id-not-uuid.xml", sdkSender, sdkRecipient)
		// Left to derive the headers from it, AP1 refuses it at once.
		code, out := ap1.submit(t, nil, sdkPart{"message", "text/xml", bytes.NewReader(bad)})
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("XHE-only submission of a malformed XHE: HTTP %d %v", code, out)
		}
		// With the headers given, the sending service is told of the refusal.
		ap1.wantRefusedOnTheWay(t, bad)
	})

	t.Run("TF10_xhe_contradicts_headers", func(t *testing.T) {
		for _, name := range []string{"other-recipient", "other-sender", "swapped-parties", "other-document", "other-process", "other-process-scheme", "other-transport-model", "other-id"} {
			t.Run(name, func(t *testing.T) { f.wantRefused(t, sdkXHEKeepID(t, "tf10/"+name+".xml")) })
		}
		other := sdkXHE(t, "tf07-minimal.xml", sdkSender, "0203:solna.se")
		// A header given in the metadata that the XHE contradicts: refused at once.
		code, out := ap1.submit(t, map[string]any{"finalRecipient": sdkRecipient},
			sdkPart{"message", "text/xml", bytes.NewReader(other)})
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity || out["field"] != "finalRecipient" {
			t.Errorf("contradicting submission: HTTP %d %v", code, out)
		}
		ap1.wantRefusedOnTheWay(t, other)
	})

	t.Run("Discovery_recipient_not_registered", func(t *testing.T) {
		f.wantFailure(t, sdkNobody, "RECIPIENT_NOT_REGISTERED", sdkNobody)
	})
	t.Run("Discovery_document_type_not_supported", func(t *testing.T) {
		f.wantFailure(t, sdkOtherDoc, "DOCUMENT_TYPE_NOT_SUPPORTED", "document type")
	})
	t.Run("Discovery_SMP_signature_invalid", func(t *testing.T) {
		f.fed.SetBadSignature(true)
		defer f.fed.SetBadSignature(false)
		f.wantFailure(t, sdkBadSig, "SMP_SIGNATURE_INVALID", "")
	})
	t.Run("Discovery_SML_unreachable", func(t *testing.T) {
		f.fed.SetSMLDown(true)
		defer f.fed.SetSMLDown(false)
		id := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, "0203:smldown.example.se"))
		m := ap1.waitMessage(t, id, "a failed attempt", func(m sdkMessage) bool { return len(m.Attempts) > 0 })
		if code, detail := m.lastError(); code != "SML_UNREACHABLE" || m.Status != "WAITING_FOR_RETRY" {
			t.Fatalf("want SML_UNREACHABLE, retried; got %s %s: %s", m.Status, code, detail)
		}
		wantEvent(t, ap1, id, "WAITING_FOR_RETRY", "SML_UNREACHABLE")
	})
	t.Run("Discovery_OCSP_down_hard_fail", func(t *testing.T) {
		// AP0004's responder is down: its status cannot be established, which
		// under hard fail refuses it (retried later; never sent meanwhile).
		id := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkOCSPDown))
		ocspDown = id
		m := ap1.waitMessage(t, id, "a failed attempt", func(m sdkMessage) bool { return len(m.Attempts) > 0 })
		code, detail := m.lastError()
		if code != "RECEIVER_CERTIFICATE_REJECTED" || !strings.Contains(detail, "AP0004-SDK-QA") || m.Status == "ACKNOWLEDGED" {
			t.Fatalf("want RECEIVER_CERTIFICATE_REJECTED for AP0004-SDK-QA, got %s %s: %s", m.Status, code, detail)
		}
		wantEvent(t, ap1, id, "WAITING_FOR_RETRY", "RECEIVER_CERTIFICATE_REJECTED")
	})

	t.Run("TF05_unreachable_and_SMP_down_retry_then_fail", func(t *testing.T) {
		offline := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkOffline))
		ap1.waitMessage(t, offline, "a failed attempt", func(m sdkMessage) bool { return len(m.Attempts) > 0 })
		f.fed.SetSMPDown(true)
		defer f.fed.SetSMPDown(false)
		smpDown := ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, sdkSMPDown))
		m := ap1.waitMessage(t, smpDown, "a failed attempt", func(m sdkMessage) bool { return len(m.Attempts) > 0 })
		if c, _ := m.lastError(); c != "SMP_UNREACHABLE" || m.Status != "WAITING_FOR_RETRY" {
			t.Fatalf("SMP down, first attempt: %s %s", m.Status, c)
		}
		// The SDK preset retries 4 times, 3 minutes apart (12;4;CONSTANT):
		// move AP1's clock past each retry rather than wait.
		for n := 2; n <= 5+2; n++ {
			f.ap1Clock.Add(int64(3*time.Minute + 5*time.Second))
			done := true
			for _, id := range []string{offline, smpDown} {
				m := ap1.waitMessage(t, id, "the next attempt", func(m sdkMessage) bool { return final(m) || len(m.Attempts) >= n })
				done = done && final(m)
			}
			if done {
				break
			}
		}
		m = ap1.waitMessage(t, offline, "a final status", final)
		code, detail := m.lastError()
		if m.Status != "SEND_FAILURE" || len(m.Attempts) != 5 || !strings.Contains(detail, "unreachable after 5 attempts") {
			t.Errorf("AP2 unreachable: want SEND_FAILURE after 5 attempts, got %s after %d: %s %s", m.Status, len(m.Attempts), code, detail)
		}
		wantEvent(t, ap1, offline, "SEND_FAILURE", "unreachable")
		m = ap1.waitMessage(t, smpDown, "a final status", final)
		if code, detail := m.lastError(); m.Status != "SEND_FAILURE" || len(m.Attempts) != 5 || code != "SMP_UNREACHABLE" {
			t.Errorf("SMP down: want SEND_FAILURE SMP_UNREACHABLE after 5 attempts, got %s after %d: %s %s", m.Status, len(m.Attempts), code, detail)
		}
		wantEvent(t, ap1, smpDown, "SEND_FAILURE", "SMP_UNREACHABLE")
		if ocspDown != "" {
			// Still unknown after every retry: refused for good, never sent.
			m = ap1.waitMessage(t, ocspDown, "a final status", final)
			if code, detail := m.lastError(); m.Status != "SEND_FAILURE" || code != "RECEIVER_CERTIFICATE_REJECTED" {
				t.Errorf("OCSP down: want SEND_FAILURE RECEIVER_CERTIFICATE_REJECTED, got %s %s: %s", m.Status, code, detail)
			}
			if ap2.inboxHas(t, ocspDown) {
				t.Error("a message went to an access point whose revocation status was unknown")
			}
		}
	})
}

// wantFailure submits to recipient and expects SEND_FAILURE with code (and
// detail mentioning want), told to the backend as an event.
func (f *sdkFederation) wantFailure(t *testing.T, recipient, code, want string) {
	t.Helper()
	id := f.ap1.submitXHE(t, sdkXHE(t, "tf07-minimal.xml", sdkSender, recipient))
	m := f.ap1.waitMessage(t, id, "a final status", final)
	got, detail := m.lastError()
	if m.Status != "SEND_FAILURE" || got != code || !strings.Contains(detail, want) {
		t.Fatalf("want SEND_FAILURE %s (%q), got %s %s: %s", code, want, m.Status, got, detail)
	}
	wantEvent(t, f.ap1, id, "SEND_FAILURE", code)
}

// wantEvent checks the client was told of status for message id, with a
// reason containing reason.
func wantEvent(t *testing.T, ap *sdkAP, id, status, reason string) {
	t.Helper()
	evs := ap.events(t, id)
	for _, e := range evs {
		if e.Status == status && strings.Contains(e.Reason, reason) {
			return
		}
	}
	t.Errorf("no %s event with reason %q for %s; events: %+v", status, reason, id, evs)
}

var xheIDPattern = regexp.MustCompile(`<((?:xhb:)?ID)>([0-9a-fA-F-]{36})</`)

// sdkXHE reads an XHE test envelope (xhe/testdata) with its parties replaced
// by from and to, and a fresh envelope ID.
func sdkXHE(t *testing.T, name, from, to string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "xhe", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(
		">0203:malmo.se<", ">"+from+"<", ">0007:2120001124<", ">"+from+"<",
		">0203:sundbyberg.se<", ">"+to+"<", ">0203:Sundbyberg.se<", ">"+to+"<").Replace(string(data))
	done := false
	s = xheIDPattern.ReplaceAllStringFunc(s, func(m string) string {
		if done {
			return m
		}
		done = true
		tag := xheIDPattern.FindStringSubmatch(m)[1]
		return "<" + tag + ">" + newUUIDString() + "</"
	})
	return []byte(s)
}

func newUUIDString() string {
	b := []byte(randomToken()[:32])
	return string(b[:8]) + "-" + string(b[8:12]) + "-4" + string(b[13:16]) + "-a" + string(b[17:20]) + "-" + string(b[20:32])
}

// submitWithHeaders submits xhe with every AS4 header given in the metadata,
// the conversationId being the XHE's Header/ID as the SDK asks (the gateway
// does not read the XHE when the metadata is complete).
func (ap *sdkAP) submitWithHeaders(t *testing.T, from, to string, xhe []byte) string {
	t.Helper()
	meta := map[string]any{
		"service": pmode.SDKService, "serviceType": pmode.SDKServiceType, "action": pmode.SDKActionMessage,
		"originalSender": from, "originalSenderType": "iso6523-actorid-upis",
		"finalRecipient": to, "finalRecipientType": "iso6523-actorid-upis",
	}
	if m := xheIDPattern.FindSubmatch(xhe); m != nil {
		meta["conversationId"] = string(m[2])
	}
	code, out := ap.submit(t, meta, sdkPart{"message", "text/xml", bytes.NewReader(xhe)})
	if code != http.StatusAccepted {
		t.Fatalf("submission with headers: HTTP %d %v", code, out)
	}
	return out["messageId"].(string)
}

// wantRefusedOnTheWay submits a bad XHE to recipient with every header given,
// which AP1 may refuse at once or send; then AP2 must refuse it and the
// sending service be told EBMS:0004. Either way nothing is delivered.
func (ap *sdkAP) wantRefusedOnTheWay(t *testing.T, xhe []byte) {
	t.Helper()
	meta := map[string]any{
		"service": pmode.SDKService, "serviceType": pmode.SDKServiceType, "action": pmode.SDKActionMessage,
		"originalSender": sdkSender, "originalSenderType": "iso6523-actorid-upis",
		"finalRecipient": sdkRecipient, "finalRecipientType": "iso6523-actorid-upis",
	}
	if m := xheIDPattern.FindSubmatch(xhe); m != nil {
		meta["conversationId"] = string(m[2])
	}
	code, out := ap.submit(t, meta, sdkPart{"message", "text/xml", bytes.NewReader(xhe)})
	switch code {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return
	case http.StatusAccepted:
	default:
		t.Fatalf("submission: HTTP %d %v", code, out)
	}
	id := out["messageId"].(string)
	m := ap.waitMessage(t, id, "a final status", final)
	if c, d := m.lastError(); m.Status != "SEND_FAILURE" || c != "EBMS:0004" {
		t.Fatalf("want SEND_FAILURE EBMS:0004 from AP2, got %s %s: %s", m.Status, c, d)
	}
	wantEvent(t, ap, id, "SEND_FAILURE", "EBMS:0004")
}

// sdkXHEKeepID is an XHE test envelope with the test bed's parties
// (malmo.se → sender, sundbyberg.se → recipient) and its own Header/ID.
func sdkXHEKeepID(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "xhe", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(">0203:malmo.se<", ">"+sdkSender+"<", ">0203:sundbyberg.se<", ">"+sdkRecipient+"<").Replace(string(data)))
}

// download reads a received payload through the backend API.
func (ap *sdkAP) download(t *testing.T, id, payload string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ap.apiURL+"/api/v1/messages/"+id+"/payloads/"+payload, nil)
	req.Header.Set("Authorization", "Bearer "+ap.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download %s/%s: HTTP %d %s", id, payload, resp.StatusCode, data)
	}
	return data
}
