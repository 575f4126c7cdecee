package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/discovery/federationtest"
	"github.com/as4gw/as4gw/pmode"
)

// Participants of the simulated federation. The first two are served by AP1
// and AP2; the others exist to make one discovery step fail each.
const (
	sdkSender    = "0203:sender.example.se"
	sdkRecipient = "0203:recipient.example.se"
	sdkProdOrg   = "0203:prod.example.se"
	sdkRevoked   = "0203:revoked.example.se"  // AP0003's certificate, revoked (TF-02)
	sdkOCSPDown  = "0203:ocspdown.example.se" // AP0004's certificate, responder down
	sdkOffline   = "0203:offline.example.se"  // endpoint nobody listens on (TF-05)
	sdkOtherDoc  = "0203:otherdoc.example.se" // takes business receipts only
	sdkBadSig    = "0203:badsig.example.se"   // looked up while the SMP signs badly
	sdkSMPDown   = "0203:smpdown.example.se"  // looked up while the SMP is down
	sdkNobody    = "0203:nobody.example.se"   // not in the SML
	sdkZone      = "edelivery.qa.sdk.test"
	sdkPartyType = pmode.SDKPartyTypeAP
)

// sdkAP is one access point of the federation, run by runGatewayFile.
type sdkAP struct {
	name   string // the CN of its AS4 certificate, its PartyId
	gw     *testGateway
	token  string
	as4URL string
	apiURL string
}

// sdkFederation is the shared fixture: SML, SMP, PKI and three gateways.
type sdkFederation struct {
	pki           *sdkPKI
	fed           *federationtest.Federation
	ap1, ap2, apP *sdkAP
	// ap1Clock is AP1's clock offset: retry schedules run in minutes, so
	// the retry tests move AP1's time forward instead of waiting.
	ap1Clock atomic.Int64
	docType  discovery.Identifier
	process  discovery.Identifier
}

func (f *sdkFederation) ap1Now() time.Time {
	return time.Now().Add(time.Duration(f.ap1Clock.Load()))
}

// startSDKFederation builds the PKI, starts the SML/SMP and three gateways
// (AP1 and AP2 in QA, a misconfigured PROD one), and registers the
// participants. Everything stops when t ends.
func startSDKFederation(t *testing.T) *sdkFederation {
	t.Helper()
	f := &sdkFederation{pki: newSDKPKI(t)}
	p := f.pki
	var err error
	if f.docType, err = discovery.ParseIdentifier(pmode.SDKActionMessage); err != nil {
		t.Fatal(err)
	}
	f.process = discovery.Identifier{Scheme: pmode.SDKServiceType, Value: pmode.SDKService}
	f.fed, err = federationtest.Start(federationtest.Options{Zone: sdkZone, SMPCertificate: p.smpSigner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.fed.Close)

	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	os.MkdirAll(pki, 0o755)
	pemFile(t, pki, "as4-qa-ca.pem", p.as4QA)
	pemFile(t, pki, "as4-prod-ca.pem", p.as4Prod)
	pemFile(t, pki, "tls-ca.pem", p.tlsCA)
	pemFile(t, pki, "smp-ca.pem", p.smpRoot)

	f.ap1 = f.writeAP(t, dir, "ap1", p.ap1.Certificate.Subject.CommonName, sdkSender, []string{"../pki/as4-qa-ca.pem"}, func(d string) string {
		p12File(t, d, "ap.p12", "changeit", p.ap1, p.as4QA)
		os.WriteFile(filepath.Join(d, "ap.password"), []byte("changeit\n"), 0o600)
		pemFile(t, d, "tls.crt", p.tls1, p.tlsCA)
		keyFile(t, d, "tls.key", p.tls1)
		return "pkcs12File: ap.p12\n  passwordFile: ap.password"
	})
	f.ap2 = f.writeAP(t, dir, "ap2", p.ap2.Certificate.Subject.CommonName, sdkRecipient, []string{"../pki/as4-qa-ca.pem"}, func(d string) string {
		pemFile(t, d, "as4.crt", p.ap2, p.as4QA)
		keyFile(t, d, "as4.key", p.ap2)
		pemFile(t, d, "tls.crt", p.tls2, p.tlsCA)
		keyFile(t, d, "tls.key", p.tls2)
		return "keyFile: as4.key\n  certFile: as4.crt"
	})
	// A PROD access point whose operator also trusts QA: it will send, and
	// AP2 must refuse its PROD signature (TF-03).
	f.apP = f.writeAP(t, dir, "prod", p.apProd.Certificate.Subject.CommonName, sdkProdOrg, []string{"../pki/as4-prod-ca.pem", "../pki/as4-qa-ca.pem"}, func(d string) string {
		pemFile(t, d, "as4.crt", p.apProd, p.as4Prod)
		keyFile(t, d, "as4.key", p.apProd)
		pemFile(t, d, "tls.crt", p.tlsProd, p.tlsCA)
		keyFile(t, d, "tls.key", p.tlsProd)
		return "keyFile: as4.key\n  certFile: as4.crt"
	})

	dead := "https://" + freeAddr(t) + "/as4" // nobody listens there
	for _, r := range []struct {
		id, url string
		cert    *x509.Certificate
		doc     string
	}{
		{sdkRecipient, f.ap2.as4URL, p.ap2.Certificate, ""},
		{sdkSender, f.ap1.as4URL, p.ap1.Certificate, ""},
		{sdkRevoked, f.ap2.as4URL, p.ap3.Certificate, ""},
		{sdkOCSPDown, f.ap2.as4URL, p.ap4.Certificate, ""},
		{sdkOffline, dead, p.ap2.Certificate, ""},
		{sdkOtherDoc, f.ap2.as4URL, p.ap2.Certificate, pmode.SDKActionBusinessReceipt},
		{sdkBadSig, f.ap2.as4URL, p.ap2.Certificate, ""},
		{sdkSMPDown, f.ap2.as4URL, p.ap2.Certificate, ""},
	} {
		doc := f.docType
		if r.doc != "" {
			doc, _ = discovery.ParseIdentifier(r.doc)
		}
		f.fed.Register(federationtest.Participant{
			ID:       discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: r.id},
			Services: []federationtest.Service{{DocumentType: doc, Process: f.process, EndpointURL: r.url, Certificate: r.cert}},
		})
	}

	// AP1's clock is hooked when its reloader is made, before its sender runs.
	old := reloaderStarted
	ap1Path := filepath.Join(dir, "ap1", "as4gw.yaml")
	reloaderStarted = func(r *reloader) {
		if r.path == ap1Path {
			r.gw.Now = f.ap1Now
		}
		if old != nil {
			old(r)
		}
	}
	defer func() { reloaderStarted = old }()
	for _, ap := range []*sdkAP{f.ap1, f.ap2, f.apP} {
		ap.gw = startGateway(t, filepath.Join(dir, ap.gw.dir))
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("AS4GW_SDKFED_LOGS") != "" {
			for _, ap := range []*sdkAP{f.ap1, f.ap2, f.apP} {
				t.Logf("%s log:\n%s", ap.name, ap.gw.log)
			}
		}
	})
	return f
}

// writeAP writes one gateway's directory and configuration; identity writes
// the key files and returns the identity's key lines.
func (f *sdkFederation) writeAP(t *testing.T, root, sub, apName, participant string, as4CAs []string, identity func(dir string) string) *sdkAP {
	t.Helper()
	d := filepath.Join(root, sub)
	os.MkdirAll(d, 0o755)
	as4, api, ops := freeAddr(t), freeAddr(t), freeAddr(t)
	ap := &sdkAP{name: apName, token: randomToken(), as4URL: "https://" + as4 + "/as4", apiURL: "http://" + api, gw: &testGateway{dir: sub}}
	os.WriteFile(filepath.Join(d, "api-token"), []byte(ap.token+"\n"), 0o600)
	r := strings.NewReplacer(
		"$APNAME", apName, "$PTYPE", sdkPartyType, "$AS4", as4, "$API", api, "$OPS", ops,
		"$IDENTITY", identity(d), "$TRUSTAS4", strings.Join(as4CAs, ", "),
		"$TLSOCSP", f.pki.tlsOCSP.URL, "$TOKEN", config.TokenHash(ap.token), "$PARTICIPANT", participant,
		"$ZONE", sdkZone, "$DNS", f.fed.DNSAddr, "$LEGS", sdkLegsYAML("      "))
	cfg := r.Replace(`# SDK QA access point $APNAME (test federation)
dataDir: data
logFormat: text
listeners:
  as4:
    address: "$AS4"
    tls: {certFile: tls.crt, keyFile: tls.key, clientAuth: require}
  backend: {address: "$API"}
  operations: {address: "$OPS"}
identity:
  partyId: $APNAME
  partyIdType: $PTYPE
  $IDENTITY
  trust:
    as4:
      files: [$TRUSTAS4]
      revocation: {mode: ocsp, failMode: hard, timeout: 3s}
    tls:
      files: [../pki/tls-ca.pem]
      revocation: {mode: ocsp, failMode: hard, ocspResponderURL: "$TLSOCSP", timeout: 3s}
    smp:
      files: [../pki/smp-ca.pem]
      revocation: {mode: ocsp, failMode: hard, timeout: 3s}
  tlsClient: {certFile: tls.crt, keyFile: tls.key}
sender:
  workers: 4
  requestTimeout: 2m
  pollInterval: 100ms
backend:
  clients:
    - name: kommun
      tokenSHA256: $TOKEN
      participants: ["$PARTICIPANT"]
discovery:
  sml: {zone: $ZONE, servers: ["$DNS"], timeout: 3s}
  smp: {timeout: 5s}
  cache: {ttl: 10m, negativeTtl: 1m}
pmodes:
  self: $APNAME
  parties:
    - name: $APNAME
      partyIds: [{value: $APNAME, type: "$PTYPE"}]
  legs:
$LEGS`)
	if err := os.WriteFile(filepath.Join(d, "as4gw.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return ap
}

// sdkLegsYAML writes the SDK preset's legs (pmode.SDKLegs) as configuration,
// each line indented by indent.
func sdkLegsYAML(indent string) string {
	var b strings.Builder
	for _, l := range pmode.SDKLegs() {
		s := l.Security
		fmt.Fprintf(&b, `- name: %s
  initiators: ["*"]
  responders: ["*"]
  anyPartyIdType: "%s"
  service: {value: "%s", type: "%s"}
  action: "%s"
  transportProfile: %s
  envelope: %s
  security: {sign: true, encrypt: true, signatureAlgorithm: "%s", digestAlgorithm: "%s", dataEncryption: "%s",
             keyTransport: "%s", keyTransportDigest: "%s", keyTransportMgf: "%s", requireSignedReceipt: true}
  reliability: {receipts: true, nonRepudiation: true, replyPattern: response, duplicateDetection: true, retry: "%s"}
  payloadProfile:
    parts:
      - {name: businessContentPayload, contentId: "cid:message", mimeType: text/xml, required: true}
      - {name: businessContentAttachment, contentId: "cid:attachment", mimeType: application/octet-stream}
    maxSize: %d
  properties:
    - {name: originalSender, type: iso6523-actorid-upis, required: true}
    - {name: finalRecipient, type: iso6523-actorid-upis, required: true}
  compression: true
`, l.Name, l.AnyPartyIDType, l.Service.Value, l.Service.Type, l.Action, l.TransportProfile, l.Envelope,
			s.SignatureAlgorithm, s.DigestAlgorithm, s.DataEncryption, s.KeyTransport, s.KeyTransportDigest, s.KeyTransportMGF,
			l.Reliability.Retry, l.PayloadProfile.MaxSize)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = indent + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// --- the backend API, as a message service uses it ---

// sdkPart is one file part of a submission.
type sdkPart struct {
	id, mimeType string
	body         io.Reader
}

// submit posts a submission (metadata then the parts, streamed) and returns
// the HTTP status and decoded JSON body.
func (ap *sdkAP) submit(t *testing.T, meta map[string]any, parts ...sdkPart) (int, map[string]any) {
	t.Helper()
	var declared []map[string]string
	for _, p := range parts {
		declared = append(declared, map[string]string{"id": p.id, "mimeType": p.mimeType})
	}
	if meta == nil {
		meta = map[string]any{}
	}
	meta["payloads"] = declared
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			w, err := mw.CreateFormField("metadata")
			if err != nil {
				return err
			}
			if err := json.NewEncoder(w).Encode(meta); err != nil {
				return err
			}
			for _, p := range parts {
				w, err := mw.CreateFormFile(p.id, p.id+".bin")
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, p.body); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, ap.apiURL+"/api/v1/messages", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+ap.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("submit to %s: %v", ap.name, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// submitXHE submits an XHE envelope alone: the gateway derives every AS4
// header from it. It fails the test unless the submission is accepted.
func (ap *sdkAP) submitXHE(t *testing.T, xhe []byte) string {
	t.Helper()
	code, out := ap.submit(t, nil, sdkPart{"message", "text/xml", bytes.NewReader(xhe)})
	if code != http.StatusAccepted {
		t.Fatalf("submission to %s: HTTP %d %v", ap.name, code, out)
	}
	return out["messageId"].(string)
}

// get reads a JSON resource of the backend API into v and returns the status.
func (ap *sdkAP) get(t *testing.T, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ap.apiURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+ap.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// sdkMessage is GET /api/v1/messages/{id}, the parts the tests read.
type sdkMessage struct {
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
	From      struct {
		ID string `json:"id"`
	} `json:"from"`
	To struct {
		ID string `json:"id"`
	} `json:"to"`
	FinalRecipient struct {
		ID string `json:"id"`
	} `json:"finalRecipient"`
	Action   string `json:"action"`
	Attempts []struct {
		HTTPStatus int `json:"httpStatus"`
		Error      *struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"error"`
	} `json:"attempts"`
	Receipt *struct {
		MessageID string `json:"messageId"`
	} `json:"receipt"`
	Payloads []struct {
		ID     string `json:"id"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"payloads"`
}

// lastError is the error of the last attempt, "" when none.
func (m sdkMessage) lastError() (code, detail string) {
	for i := len(m.Attempts) - 1; i >= 0; i-- {
		if e := m.Attempts[i].Error; e != nil {
			return e.Code, e.Detail
		}
	}
	return "", ""
}

func (ap *sdkAP) message(t *testing.T, id string) (sdkMessage, int) {
	t.Helper()
	var m sdkMessage
	code := ap.get(t, "/api/v1/messages/"+id, &m)
	return m, code
}

// waitMessage polls the message until ok or the deadline.
func (ap *sdkAP) waitMessage(t *testing.T, id string, what string, ok func(sdkMessage) bool) sdkMessage {
	t.Helper()
	return ap.waitMessageFor(t, id, 45*time.Second, what, ok)
}

func (ap *sdkAP) waitMessageFor(t *testing.T, id string, wait time.Duration, what string, ok func(sdkMessage) bool) sdkMessage {
	t.Helper()
	var m sdkMessage
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		m, _ = ap.message(t, id)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s at %s: waited for %s; it is %+v", id, ap.name, what, m)
		}
	}
}

func final(m sdkMessage) bool {
	return m.Status == "ACKNOWLEDGED" || m.Status == "ACKNOWLEDGED_WITH_WARNING" || m.Status == "SEND_FAILURE"
}

// sdkEvent is one entry of GET /api/v1/events.
type sdkEvent struct {
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

// events returns the status changes of message id the client was told of.
func (ap *sdkAP) events(t *testing.T, id string) []sdkEvent {
	t.Helper()
	var out []sdkEvent
	var after uint64
	for range 100 {
		var page struct {
			Events []sdkEvent `json:"events"`
			Next   uint64     `json:"next"`
		}
		ap.get(t, fmt.Sprintf("/api/v1/events?after=%d&limit=500", after), &page)
		for _, e := range page.Events {
			if e.MessageID == id {
				out = append(out, e)
			}
		}
		if len(page.Events) == 0 || page.Next == after {
			break
		}
		after = page.Next
	}
	return out
}

// inboxHas reports whether the client's inbox lists message id.
func (ap *sdkAP) inboxHas(t *testing.T, id string) bool {
	t.Helper()
	var page struct {
		Messages []struct {
			MessageID string `json:"messageId"`
		} `json:"messages"`
	}
	ap.get(t, "/api/v1/inbox?limit=500", &page)
	for _, m := range page.Messages {
		if m.MessageID == id {
			return true
		}
	}
	return false
}
