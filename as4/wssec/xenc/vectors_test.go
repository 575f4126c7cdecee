package xenc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/internal/testutil"
	"github.com/as4gw/as4gw/trust"
)

// Expected values from shared/vectors/MANIFEST.md (independent openssl +
// xmlsec1 decryption).
type vectorPart struct {
	size       int64
	sha256     string
	mime       string // restored Content-Type (EncryptedData MimeType)
	gunzipped  string // SHA-256 of the decompressed payload, "" when not compressed
	gunzipSize int64
}

type encryptedVector struct {
	file      string
	keyPEM    string // relative to the vectors folder; cert alongside
	certPEM   string
	params    aesgcm.OAEPParams
	reference wssec.TokenReference
	parts     map[string]vectorPart
}

var encryptedVectors = []encryptedVector{
	{
		file:    "as4net/as4-encrypted-signed-issuerserial.as4",
		keyPEM:  "as4net/derived/AccessPointB.pfx.key.pem",
		certPEM: "as4net/derived/AccessPointB.pfx.cert.pem",
		// rsa-oaep-mgf1p with a SHA-256 DigestMethod (Holodeck).
		params:    aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEPMGF1P, Hash: cryptoSHA256, MGFHash: cryptoSHA1},
		reference: wssec.RefIssuerSerial,
		parts: map[string]vectorPart{
			"b545c3a0-e57f-46aa-862f-381eb4b7009-291596031@CLT-SMOREELS.mshome.net": {296385, "f4b7702c70321d016469efd9b2584a4d069681864fe60d2cbf7828fe101bbfbe", "application/gzip",
				"060364613d88080a698ed6720d1a2288a30fdff223b4fb0cca280d3c3c67e93f", 296454},
			"b545c3a0-e57f-46aa-862f-381eb4b7009-1650194442@CLT-SMOREELS.mshome.net": {164, "70e06fd5cf42545c39d1aee1f1cd1d6c8956964b56abd0abd1b3e2a6d67fc147", "application/gzip",
				"df3d563a69eef2cc166afde17715eb803399df573737be357f15a64c37995170", 206},
		},
	},
	{
		file:      "as4net/_8_1_22_message.as4",
		keyPEM:    "as4net/derived/AccessPointB.pfx.key.pem",
		certPEM:   "as4net/derived/AccessPointB.pfx.cert.pem",
		params:    aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEPMGF1P, Hash: cryptoSHA256, MGFHash: cryptoSHA1},
		reference: wssec.RefIssuerSerial,
		parts: map[string]vectorPart{
			"3bb59c77-a1bc-4ea5-9159-8152bd8f618-1833056104@CLT-FGHEYSELS.ad.codit.eu": {296454, "060364613d88080a698ed6720d1a2288a30fdff223b4fb0cca280d3c3c67e93f", "image/jpeg", "", 0},
			"3bb59c77-a1bc-4ea5-9159-8152bd8f618-335174759@CLT-FGHEYSELS.ad.codit.eu":  {206, "df3d563a69eef2cc166afde17715eb803399df573737be357f15a64c37995170", "application/xml", "", 0},
		},
	},
	{
		file:    "as4net/as4-encrypted-compressed-message.as4",
		keyPEM:  "as4net/derived/partyC.p12.key.pem",
		certPEM: "as4net/derived/partyC.p12.cert.pem",
		// xmlenc11#rsa-oaep, SHA-256 digest, no MGF element (MGF1-SHA1).
		params:    aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEP, Hash: cryptoSHA256, MGFHash: cryptoSHA1},
		reference: wssec.RefBSTX509v3,
		parts: map[string]vectorPart{
			"flower": {290161, "e594c6b9379c4e275e92b3417a9466cc2678f05156308e821613635796d902b3", "application/gzip",
				"f66549e18fd9fe2ec2c1c199b68351aa3920e2c257a48867bbc4f159e1e3ea40", 290403},
			"xmldoc": {86, "f7c234cab1abb241e9cfc7f9bd1eef20b922840467f39608bc31a5404125b60a", "application/gzip",
				"c5bb2294a9a79594429cc368a8aee9e6485993c8a0887b1080b80a0c9cad6b5b", 63},
		},
	},
}

func loadIdentity(t *testing.T, keyPEM, certPEM string) *trust.Identity {
	t.Helper()
	id, err := trust.LoadPEMFiles(testutil.Vector(t, keyPEM), testutil.Vector(t, certPEM), "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func readVector(t *testing.T, rel string) (*soap.Message, string) {
	t.Helper()
	f, err := os.Open(testutil.Vector(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	msg, err := soap.ReadCaptured(f, "", soap.Limits{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { msg.Close() })
	return msg, dir
}

func hexSHA256(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func TestVectorsDecrypt(t *testing.T) {
	for _, v := range encryptedVectors {
		t.Run(filepath.Base(v.file), func(t *testing.T) {
			id := loadIdentity(t, v.keyPEM, v.certPEM)
			msg, dir := readVector(t, v.file)
			res, err := DecryptAttachments(wenv(msg.Envelope), msg, id, DecryptOptions{RequireEncryption: true, StrictRecipient: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Keys) != 1 {
				t.Fatalf("%d keys", len(res.Keys))
			}
			k := res.Keys[0]
			if k.Params != v.params || k.Reference != v.reference || !k.RecipientIdentified || !k.Certificate.Equal(id.Certificate) {
				t.Errorf("key %+v", k)
			}
			if len(res.Parts) != len(v.parts) {
				t.Fatalf("decrypted %d parts, want %d", len(res.Parts), len(v.parts))
			}
			if n := len(spoolFiles(t, dir)); n != spooled(msg) {
				t.Errorf("%d files in the spool dir, want %d", n, spooled(msg))
			}
			for _, a := range msg.Attachments {
				want, ok := v.parts[a.ContentID]
				if !ok {
					t.Fatalf("unexpected part <%s>", a.ContentID)
				}
				f, err := a.Open()
				if err != nil {
					t.Fatal(err)
				}
				sum, n, err := hexSHA256(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				if sum != want.sha256 || n != want.size || a.Size != n || hex.EncodeToString(a.SHA256[:]) != sum {
					t.Errorf("<%s>: plaintext %d bytes sha256 %s (Size %d), want %d bytes %s", a.ContentID, n, sum, a.Size, want.size, want.sha256)
				} else {
					t.Logf("<%s>: decrypted %d bytes, sha256 %s (matches MANIFEST)", a.ContentID, n, sum)
				}
				if a.ContentType != want.mime {
					t.Errorf("<%s>: Content-Type %q, want %q", a.ContentID, a.ContentType, want.mime)
				}
				if want.gunzipped == "" {
					continue
				}
				f, _ = a.Open()
				zr := soap.Decompress(f, 0)
				gsum, gn, err := hexSHA256(zr)
				f.Close()
				if err != nil || gsum != want.gunzipped || gn != want.gunzipSize {
					t.Errorf("<%s>: gunzipped %d bytes sha256 %s (%v), want %d %s", a.ContentID, gn, gsum, err, want.gunzipSize, want.gunzipped)
				} else {
					t.Logf("<%s>: gunzipped %d bytes, sha256 %s (matches MANIFEST)", a.ContentID, gn, gsum)
				}
			}
		})
	}
}

// TestVectorDecryptThenVerify proves the receive order on Holodeck's signed,
// encrypted and compressed message: the signature over the attachments
// verifies only over the decrypted (still compressed) octets, and the
// payloads come out of OpenPayload with the MANIFEST digests.
func TestVectorDecryptThenVerify(t *testing.T) {
	v := encryptedVectors[0]
	id := loadIdentity(t, v.keyPEM, v.certPEM)
	signers, err := trust.LoadCertificatesFile(testutil.Vector(t, "as4net/AccessPointA.cer"))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := readVector(t, v.file)
	vopts := wssec.VerifyOptions{
		Policy: wssec.DefaultPolicy(),
		At:     time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC),
		Lookup: trust.NewCertificateIndex(signers...),
	}

	env, atts := wssec.FromSOAP(msg)
	_, err = wssec.Verify(env, atts, vopts)
	wantErr(t, err, ebms.CodeFailedAuthentication, "digest") // still encrypted

	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, id, DecryptOptions{RequireEncryption: true}); err != nil {
		t.Fatal(err)
	}
	env, atts = wssec.FromSOAP(msg)
	vr, err := wssec.Verify(env, atts, vopts)
	if err != nil {
		t.Fatalf("verify after decryption: %v", err)
	}
	if !vr.MessagingSigned || !vr.BodySigned || len(vr.AttachmentsSigned) != 2 || vr.Token != wssec.RefIssuerSerial || vr.Certificate.Subject.CommonName != "AccessPointA" {
		t.Fatalf("verified %+v", vr)
	}

	mEl, err := ebms.FindMessaging(msg.Envelope.Header)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ebms.Decode(mEl)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.UserMessage.PayloadInfo {
		pi := &m.UserMessage.PayloadInfo[i]
		att, err := msg.AttachmentByCID(pi.Href)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := OpenPayload(att, pi, 0)
		if err != nil {
			t.Fatal(err)
		}
		sum, n, err := hexSHA256(rc)
		rc.Close()
		want := v.parts[att.ContentID]
		if err != nil || sum != want.gunzipped || n != want.gunzipSize {
			t.Errorf("<%s>: payload %d bytes %s (%v), want %d %s", att.ContentID, n, sum, err, want.gunzipSize, want.gunzipped)
		}
	}
}

// TestVectorsUnwrapOnly: envelopes stored without their attachments; the
// EncryptedKey must name our certificate and unwrap to a 16-byte AES key.
func TestVectorsUnwrapOnly(t *testing.T) {
	red := [2]string{"domibus/derived/gateway_keystore.jks.red_gw.key.pem", "domibus/derived/gateway_keystore.jks.red_gw.cert.pem"}
	cases := []struct {
		file   string
		key    [2]string
		params aesgcm.OAEPParams
		ref    wssec.TokenReference
	}{
		{"as4net/as4_flame_envelope.as4", [2]string{"as4net/derived/as4-net-c3.pfx.key.pem", "as4net/derived/as4-net-c3.pfx.cert.pem"},
			aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEP, Hash: cryptoSHA1, MGFHash: cryptoSHA1}, wssec.RefBSTX509v3},
		{"domibus/SoapRequest.xml", red, aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEPMGF1P, Hash: cryptoSHA1, MGFHash: cryptoSHA1}, wssec.RefSKI},
		{"domibus/ski_incoming_message.xml", red, aesgcm.EDeliveryOAEP, wssec.RefSKI},
		{"domibus/is_incoming_message.xml", red, aesgcm.EDeliveryOAEP, wssec.RefIssuerSerial},
		{"domibus/bst_x509v3_incoming_message.xml", red, aesgcm.EDeliveryOAEP, wssec.RefBSTX509v3},
		{"domibus/bst_X509PKIPathv1_incoming_message.xml", red, aesgcm.EDeliveryOAEP, wssec.RefBSTX509v3},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			id := loadIdentity(t, c.key[0], c.key[1])
			msg, _ := readVector(t, c.file)
			sec := security(t, msg)
			eks := childrenNS(sec, wssec.NSXENC, "EncryptedKey")
			if len(eks) != 1 {
				t.Fatalf("%d EncryptedKeys", len(eks))
			}
			k, err := ParseEncryptedKey(eks[0], nil)
			if err != nil {
				t.Fatal(err)
			}
			if k.Params != c.params || len(k.DataReferences) == 0 {
				t.Errorf("parsed %+v", k)
			}
			d, err := newDecrypter(id, DecryptOptions{StrictRecipient: true})
			if err != nil {
				t.Fatal(err)
			}
			cands, tok, err := d.recipient(k, sec)
			if err != nil || len(cands) != 1 || tok == nil || tok.Reference != c.ref {
				t.Fatalf("recipient: %v %v %+v", err, len(cands), tok)
			}
			key, err := k.Unwrap(id.Decrypter(), aesgcm.AES128GCM)
			if err != nil || len(key) != 16 {
				t.Fatalf("unwrap: %d bytes, %v", len(key), err)
			}
			t.Logf("%s: EncryptedKey %s (%s) unwraps to a 16-byte key", c.file, k.ID, c.ref)
			// For someone else, a token naming red_gw is refused outright; an
			// SKI or IssuerSerial we cannot resolve only with StrictRecipient
			// (otherwise the key is tried, unidentified).
			d2, _ := newDecrypter(receiver(), DecryptOptions{})
			_, tok, err = d2.recipient(k, sec)
			if c.ref == wssec.RefBSTX509v3 && err == nil || c.ref != wssec.RefBSTX509v3 && (err != nil || tok != nil) {
				t.Errorf("lenient recipient check for another key: tok %v, err %v", tok, err)
			}
			d2, _ = newDecrypter(receiver(), DecryptOptions{StrictRecipient: true})
			if _, _, err := d2.recipient(k, sec); err == nil {
				t.Error("strict recipient check accepted a foreign key")
			}
		})
	}
}

// TestVectorForeignRecipient: phase4's dump is encrypted for POP000306,
// whose key we do not have; the BST names that certificate, so the message
// is refused before any RSA operation.
func TestVectorForeignRecipient(t *testing.T) {
	msg, dir := readVector(t, "phase4/dump-raw.as4out")
	snap := takeSnapshot(t, msg, dir)
	_, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true})
	we := wantErr(t, err, ebms.CodeFailedDecryption, CheckRecipient)
	t.Log(we)
	snap.check(t, msg, dir)
}

func TestVectorWrongCompression(t *testing.T) {
	msg, _ := readVector(t, "phase4/WrongCompression.mime")
	mEl, err := ebms.FindMessaging(msg.Envelope.Header)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ebms.Decode(mEl)
	if err != nil {
		t.Fatal(err)
	}
	pi := &m.UserMessage.PayloadInfo[0]
	var pe *PayloadError
	if err := CheckCompression(pi); !errors.As(err, &pe) || pe.Code != ebms.CodeValueInconsistent {
		t.Fatalf("CheckCompression: %v", err)
	}
	att, err := msg.AttachmentByCID(pi.Href)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPayload(att, pi, 0); !errors.As(err, &pe) || pe.Code != ebms.CodeValueInconsistent {
		t.Fatalf("OpenPayload: %v", err)
	}
	t.Log(pe)
}
