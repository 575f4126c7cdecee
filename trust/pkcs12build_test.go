package trust

import (
	"crypto"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"unicode/utf16"

	"software.sslmate.com/src/go-pkcs12"
)

// go-pkcs12 writes only single-key stores, but Java keystores converted to
// PKCS#12 (a Domibus gateway keystore with blue_gw and red_gw) hold several.
// p12Builder assembles such stores for tests: key bags shrouded by go-pkcs12
// (PBES2/AES-256), certificate bags in a plain SafeContents, and a PBMAC1
// (PBKDF2-HMAC-SHA256) integrity MAC, all of which go-pkcs12 reads.

type p12Bag struct {
	key          crypto.PrivateKey // nil for a certificate bag
	cert         *x509.Certificate // the bag's certificate; for a key bag, the key's (used only to encrypt it)
	friendlyName string
	localKeyID   []byte
	extraAttr    bool   // add an attribute ToPEM does not know
	javaTrusted  bool   // add Java's trusted-certificate marker
	keyPassword  string // encrypt the key with this instead of the store password
}

var (
	oidPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidMSLocalKeySet = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 17, 2}
	oidJavaTrusted   = asn1.ObjectIdentifier{2, 16, 840, 1, 113894, 746875, 1, 1}
	oidAnyEKU        = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
)

func buildPKCS12(t *testing.T, password string, bags ...p12Bag) []byte {
	t.Helper()
	var keyBags, certBags []p12SafeBag
	for _, b := range bags {
		attrs := bagAttrs(t, b)
		if b.key != nil {
			kp := password
			if b.keyPassword != "" {
				kp = b.keyPassword
			}
			keyBags = append(keyBags, p12SafeBag{ID: oidP12ShroudedKey, Value: explicit0(shroudedKey(t, b.key, b.cert, kp)), Attributes: attrs})
			continue
		}
		cb, err := asn1.Marshal(p12CertBag{ID: oidP12X509CertValue, Data: b.cert.Raw})
		if err != nil {
			t.Fatal(err)
		}
		certBags = append(certBags, p12SafeBag{ID: oidP12CertBag, Value: explicit0(cb), Attributes: attrs})
	}
	safes := []p12ContentInfo{dataContent(t, mustMarshal(t, keyBags)), dataContent(t, mustMarshal(t, certBags))}
	authSafe := mustMarshal(t, safes)

	salt := []byte("0123456789abcdef")
	macKey, err := pbkdf2.Key(sha256.New, password, salt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, macKey)
	m.Write(authSafe)
	kdfParams := mustMarshal(t, struct {
		Salt      []byte
		Iter      int
		KeyLength int
		PRF       pkix.AlgorithmIdentifier
	}{salt, 2048, 32, pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	pbmacParams := mustMarshal(t, struct {
		KDF pkix.AlgorithmIdentifier
		MAC pkix.AlgorithmIdentifier
	}{
		pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue},
	})
	type digestInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	pfx := struct {
		Version  int
		AuthSafe p12ContentInfo
		MacData  struct {
			Mac        digestInfo
			MacSalt    []byte
			Iterations int
		}
	}{Version: 3, AuthSafe: dataContent(t, authSafe)}
	pfx.MacData.Mac = digestInfo{pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: pbmacParams}}, m.Sum(nil)}
	pfx.MacData.MacSalt = []byte("NOT USED")
	pfx.MacData.Iterations = 1
	return mustMarshal(t, pfx)
}

// shroudedKey lets go-pkcs12 encrypt the key (it does PBES2 correctly) and
// lifts the EncryptedPrivateKeyInfo out of the single-key store it made.
func shroudedKey(t *testing.T, key crypto.PrivateKey, cert *x509.Certificate, password string) []byte {
	t.Helper()
	single, err := pkcs12.Modern2023.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	var pfx p12PFX
	if _, err := asn1.Unmarshal(single, &pfx); err != nil {
		t.Fatal(err)
	}
	var octets []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &octets); err != nil {
		t.Fatal(err)
	}
	var safes []p12ContentInfo
	if _, err := asn1.Unmarshal(octets, &safes); err != nil {
		t.Fatal(err)
	}
	for _, ci := range safes {
		if !ci.ContentType.Equal(oidP12Data) {
			continue
		}
		var data []byte
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &data); err != nil {
			t.Fatal(err)
		}
		var bags []p12SafeBag
		if _, err := asn1.Unmarshal(data, &bags); err != nil {
			t.Fatal(err)
		}
		for _, b := range bags {
			if b.ID.Equal(oidP12ShroudedKey) {
				return b.Value.Bytes
			}
		}
	}
	t.Fatal("no shrouded key bag in go-pkcs12 output")
	return nil
}

func bagAttrs(t *testing.T, b p12Bag) []p12Attribute {
	var attrs []p12Attribute
	if b.friendlyName != "" {
		u := utf16.Encode([]rune(b.friendlyName))
		bmp := make([]byte, 0, 2*len(u))
		for _, c := range u {
			bmp = append(bmp, byte(c>>8), byte(c))
		}
		v := mustMarshal(t, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: bmp})
		attrs = append(attrs, p12Attribute{ID: oidP12FriendlyName, Values: setOf(v)})
	}
	if b.localKeyID != nil {
		attrs = append(attrs, p12Attribute{ID: oidP12LocalKeyID, Values: setOf(mustMarshal(t, b.localKeyID))})
	}
	if b.extraAttr {
		attrs = append(attrs, p12Attribute{ID: oidMSLocalKeySet, Values: setOf(nil)})
	}
	if b.javaTrusted {
		attrs = append(attrs, p12Attribute{ID: oidJavaTrusted, Values: setOf(mustMarshal(t, oidAnyEKU))})
	}
	return attrs
}

func setOf(content []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: content}
}

func explicit0(inner []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}
}

func dataContent(t *testing.T, content []byte) p12ContentInfo {
	return p12ContentInfo{ContentType: oidP12Data, Content: explicit0(mustMarshal(t, content))}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
