package aesgcm

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"sync"
	"testing"
)

var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestParseOAEPParams(t *testing.T) {
	ok := []struct {
		alg, digest, mgf string
		hash, mgfHash    crypto.Hash
	}{
		{RSAOAEP, DigestSHA256, MGF1SHA256, crypto.SHA256, crypto.SHA256}, // eDelivery AS4
		{RSAOAEP, "", "", crypto.SHA1, crypto.SHA1},                       // XML Enc 1.1 defaults
		{RSAOAEP, DigestSHA256, "", crypto.SHA256, crypto.SHA1},           // AS4.NET
		{RSAOAEP, DigestSHA1, MGF1SHA224, crypto.SHA1, crypto.SHA224},
		{RSAOAEP, DigestSHA384, MGF1SHA384, crypto.SHA384, crypto.SHA384},
		{RSAOAEP, DigestSHA512, MGF1SHA512, crypto.SHA512, crypto.SHA512},
		{RSAOAEP, DigestSHA512, MGF1SHA1, crypto.SHA512, crypto.SHA1},
		{RSAOAEPMGF1P, "", "", crypto.SHA1, crypto.SHA1},
		{RSAOAEPMGF1P, DigestSHA256, "", crypto.SHA256, crypto.SHA1}, // Holodeck, Domibus
		{RSAOAEPMGF1P, DigestSHA256, MGF1SHA1, crypto.SHA256, crypto.SHA1},
	}
	for _, c := range ok {
		p, err := ParseOAEPParams(c.alg, c.digest, c.mgf)
		if err != nil {
			t.Errorf("%s %s %s: %v", c.alg, c.digest, c.mgf, err)
			continue
		}
		if p.Algorithm != c.alg || p.Hash != c.hash || p.MGFHash != c.mgfHash {
			t.Errorf("%s %s %s: got %+v", c.alg, c.digest, c.mgf, p)
		}
	}
	bad := []struct{ alg, digest, mgf string }{
		{"http://www.w3.org/2001/04/xmlenc#rsa-1_5", "", ""},                      // PKCS#1 v1.5
		{"http://www.w3.org/2001/04/xmlenc#kw-aes128", "", ""},                    // not key transport
		{RSAOAEP + " ", "", ""},                                                   // exact match only
		{RSAOAEP, "http://www.w3.org/2001/04/xmldsig-more#md5", ""},               // digest not allowed
		{RSAOAEP, "http://www.w3.org/2001/04/xmlenc#ripemd160", ""},               // digest not allowed
		{RSAOAEP, DigestSHA256, "http://www.w3.org/2009/xmlenc11#mgf1md5"},        // MGF not allowed
		{RSAOAEP, DigestSHA256, DigestSHA256},                                     // digest URI as MGF
		{RSAOAEPMGF1P, DigestSHA256, MGF1SHA256},                                  // mgf1p fixes SHA-1
		{RSAOAEPMGF1P, "http://www.w3.org/2001/04/xmldsig-more#sha224", MGF1SHA1}, // not in the list
	}
	for _, c := range bad {
		if p, err := ParseOAEPParams(c.alg, c.digest, c.mgf); err == nil {
			t.Errorf("%q %q %q accepted as %+v", c.alg, c.digest, c.mgf, p)
		}
	}
}

func TestOAEPParamsURIs(t *testing.T) {
	if EDeliveryOAEP.DigestURI() != DigestSHA256 || EDeliveryOAEP.MGFURI() != MGF1SHA256 {
		t.Fatalf("eDelivery URIs: %s %s", EDeliveryOAEP.DigestURI(), EDeliveryOAEP.MGFURI())
	}
	p, _ := ParseOAEPParams(RSAOAEPMGF1P, DigestSHA256, "")
	if p.MGFURI() != "" || p.DigestURI() != DigestSHA256 {
		t.Fatalf("mgf1p URIs: %q %q", p.DigestURI(), p.MGFURI())
	}
	// Round trip through the URIs for every allowed combination.
	for _, alg := range []string{RSAOAEP, RSAOAEPMGF1P} {
		for d := range digestByURI {
			for m := range mgfByURI {
				p, err := ParseOAEPParams(alg, d, m)
				if err != nil {
					continue
				}
				q, err := ParseOAEPParams(alg, p.DigestURI(), p.MGFURI())
				if err != nil || q != p {
					t.Errorf("%+v does not round trip: %+v %v", p, q, err)
				}
			}
		}
	}
}

func TestWrapUnwrapAllParams(t *testing.T) {
	priv := testRSAKey()
	for _, alg := range []string{RSAOAEP, RSAOAEPMGF1P} {
		for d := range digestByURI {
			for m := range mgfByURI {
				params, err := ParseOAEPParams(alg, d, m)
				if err != nil {
					continue // mgf1p with a non-SHA-1 MGF
				}
				t.Run(alg+"|"+d+"|"+m, func(t *testing.T) {
					for _, cek := range [][]byte{randBytes(1, 16), randBytes(2, 24), randBytes(3, 32)} {
						wrapped, err := WrapKey(&priv.PublicKey, cek, params)
						if err != nil {
							t.Fatal(err)
						}
						got, err := UnwrapKey(priv, wrapped, params)
						if err != nil || !bytes.Equal(got, cek) {
							t.Fatalf("UnwrapKey = %x, %v", got, err)
						}
						// The receiver must use the same params: any other
						// digest or MGF fails, with the one generic error.
						other := params
						other.Hash = crypto.SHA384
						if params.Hash == crypto.SHA384 {
							other.Hash = crypto.SHA256
						}
						if _, err := UnwrapKey(priv, wrapped, other); err != ErrKeyUnwrap {
							t.Fatalf("wrong digest: %v", err)
						}
					}
				})
			}
		}
	}
}

// opaqueDecrypter hides the concrete key type, as an HSM-backed key would.
type opaqueDecrypter struct{ k *rsa.PrivateKey }

func (o opaqueDecrypter) Public() crypto.PublicKey { return o.k.Public() }
func (o opaqueDecrypter) Decrypt(r io.Reader, c []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return o.k.Decrypt(r, c, opts)
}

func TestUnwrapKeyFor(t *testing.T) {
	priv := testRSAKey()
	cek := randBytes(4, 16)
	wrapped, err := WrapKey(&priv.PublicKey, cek, EDeliveryOAEP)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapKeyFor(opaqueDecrypter{priv}, wrapped, EDeliveryOAEP, AES128GCM)
	if err != nil || !bytes.Equal(got, cek) {
		t.Fatalf("UnwrapKeyFor = %x, %v", got, err)
	}
	if _, err := UnwrapKeyFor(priv, wrapped, EDeliveryOAEP, AES256GCM); err != ErrKeyUnwrap {
		t.Fatalf("16-byte key for aes256-gcm: %v", err)
	}
	if _, err := UnwrapKeyFor(priv, wrapped, EDeliveryOAEP, "urn:nope"); err == nil || err == ErrKeyUnwrap {
		t.Fatalf("unknown data algorithm: %v", err)
	}
}

// TestUnwrapErrorsUniform checks that every ciphertext-dependent failure is
// the same error value with the same message: no padding oracle via errors.
func TestUnwrapErrorsUniform(t *testing.T) {
	priv := testRSAKey()
	wrapped, _ := WrapKey(&priv.PublicKey, randBytes(5, 16), EDeliveryOAEP)
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)/2] ^= 1
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	// A valid OAEP encryption of a message that is not a valid key
	// transport plaintext for AES-128.
	longMsg, _ := rsa.EncryptOAEPWithOptions(rand.Reader, &priv.PublicKey, make([]byte, 100), EDeliveryOAEP.options())
	cases := map[string]struct {
		priv    crypto.Decrypter
		wrapped []byte
	}{
		"bit flip":    {priv, flipped},
		"wrong key":   {other, wrapped},
		"short":       {priv, wrapped[1:]},
		"long":        {priv, append(bytes.Clone(wrapped), 0)},
		"zero":        {priv, make([]byte, len(wrapped))},
		"all ones":    {priv, bytes.Repeat([]byte{0xff}, len(wrapped))},
		"empty":       {priv, nil},
		"wrong len":   {priv, longMsg},
		"opaque flip": {opaqueDecrypter{priv}, flipped},
	}
	for name, c := range cases {
		_, err := UnwrapKeyFor(c.priv, c.wrapped, EDeliveryOAEP, AES128GCM)
		if err != ErrKeyUnwrap || err.Error() != "aesgcm: key unwrap failed" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWrapUnwrapRejectsBadParams(t *testing.T) {
	priv := testRSAKey()
	bad := []OAEPParams{
		{},
		{Algorithm: RSAOAEP, Hash: crypto.MD5, MGFHash: crypto.SHA256},
		{Algorithm: RSAOAEP, Hash: crypto.SHA256},
		{Algorithm: RSAOAEPMGF1P, Hash: crypto.SHA256, MGFHash: crypto.SHA256},
		{Algorithm: "http://www.w3.org/2001/04/xmlenc#rsa-1_5", Hash: crypto.SHA256, MGFHash: crypto.SHA256},
	}
	for _, p := range bad {
		if _, err := WrapKey(&priv.PublicKey, randBytes(6, 16), p); err == nil {
			t.Errorf("WrapKey accepted %+v", p)
		}
		if _, err := UnwrapKey(priv, make([]byte, 256), p); err == nil || errors.Is(err, ErrKeyUnwrap) {
			t.Errorf("UnwrapKey with %+v: %v", p, err)
		}
	}
	if _, err := WrapKey(&priv.PublicKey, randBytes(7, 20), EDeliveryOAEP); err == nil {
		t.Error("WrapKey accepted a 20-byte key")
	}
}

func TestCheckOAEPLabel(t *testing.T) {
	for _, s := range []string{"", "  \n ", "\t"} {
		if err := CheckOAEPLabel(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"AA==", "bGFiZWw=", "not base64!"} {
		if err := CheckOAEPLabel(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
