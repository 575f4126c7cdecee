package trust

import (
	"crypto"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// Keystores from other implementations (MANIFEST.md, "Keystores and
// certificates"), compared with the PEM files derived from them with openssl.
func TestLoadPKCS12Vectors(t *testing.T) {
	tests := []struct {
		file, password string
		derived        string // prefix of the derived .cert.pem/.key.pem
		alias          string
		certAlias      string
		subjectCN      string
		serialHex      string
		chainCNs       []string
		derivedChain   string // derived CA chain PEM, if any
		fallback       bool   // ToPEM refuses the store (Windows "Microsoft Local Key set" attribute)
	}{
		{
			file: "as4net/AccessPointA.pfx", password: "Pz4cZK4SULUwmraZa", derived: "as4net/derived/AccessPointA.pfx",
			// Windows names the key bag after its CSP container.
			alias: "{69E83739-9D7A-4620-A46A-63F9C433DEA5}", certAlias: "CN=AccessPointA",
			subjectCN: "AccessPointA", serialHex: "71e5da3fec427453",
		},
		{
			file: "as4net/AccessPointB.pfx", password: "Pz4cZK4SULUwmraZb", derived: "as4net/derived/AccessPointB.pfx",
			alias: "{9EDF9773-1255-4CE1-81B2-74E9854501A9}", certAlias: "CN=AccessPointB",
			subjectCN: "AccessPointB", serialHex: "52a8aae8dfb86dc9",
		},
		{
			// Its key bag carries "Microsoft Local Key set", which ToPEM
			// refuses: read through the DecodeChain fallback.
			file: "as4net/holodeck-partya-certificate.pfx", password: "secrets", derived: "as4net/derived/holodeck-partya-certificate.pfx",
			alias: "partya", certAlias: "partya", subjectCN: "PartyA", serialHex: "daf2c71bd7af3ffb", fallback: true,
		},
		{
			file: "as4net/partyC.p12", password: "ExampleC", derived: "as4net/derived/partyC.p12",
			alias: "partyc", certAlias: "partyc", subjectCN: "PartyC", serialHex: "d35fbb4842b0b725",
		},
		{
			file: "as4net/certificate-as4.pfx", password: "secrets", derived: "as4net/derived/certificate-as4.pfx",
			alias: "te-e8521cab-fe7d-46a9-953d-8b2a93499804", subjectCN: "www.AS4Project.com", serialHex: "6546a6bd397a0584430a58eba184e2c1", fallback: true,
		},
		{
			file: "as4net/as4-net-c2.pfx", password: "123456", derived: "as4net/derived/as4-net-c2.pfx",
			alias: "as4-net-c2", certAlias: "as4-net-c2", subjectCN: "as4-net-c2", serialHex: "287b58f1",
		},
		{
			file: "as4net/as4-net-c3.pfx", password: "123456", derived: "as4net/derived/as4-net-c3.pfx",
			alias: "as4-net-c3", certAlias: "as4-net-c3", subjectCN: "as4-net-c3", serialHex: "38a9ac98",
		},
		{
			// PBES2/AES-256 key, RC2-40 certificates, two CA certificates.
			file: "phase4/peppol-expired-ap-cert-pw-peppol.p12", password: "peppol", derived: "phase4/derived/peppol-expired-ap-cert-pw-peppol.p12",
			alias: "cert", certAlias: "cert", subjectCN: "POP000306", serialHex: "291f91ed7c777e209b42a2eb5bec7316",
			chainCNs:     []string{"PEPPOL ACCESS POINT TEST CA - G2", "PEPPOL Root TEST CA - G2"},
			derivedChain: "phase4/derived/peppol-expired-ap-cert-pw-peppol.p12.cachain.pem",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := readVector(t, tc.file)
			if _, err := pkcs12.ToPEM(data, tc.password); (err != nil) != tc.fallback {
				t.Errorf("ToPEM error %v; fallback expected: %v", err, tc.fallback)
			}
			entries, err := LoadPKCS12(data, tc.password)
			if err != nil {
				t.Fatalf("LoadPKCS12: %v", err)
			}
			if len(entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(entries))
			}
			e := entries[0]
			if e.Alias != tc.alias || e.CertificateAlias != tc.certAlias {
				t.Errorf("alias %q / certificate alias %q, want %q / %q", e.Alias, e.CertificateAlias, tc.alias, tc.certAlias)
			}
			if e.Certificate.Subject.CommonName != tc.subjectCN {
				t.Errorf("subject CN %q, want %q", e.Certificate.Subject.CommonName, tc.subjectCN)
			}
			if got := e.Certificate.SerialNumber.Text(16); got != tc.serialHex {
				t.Errorf("serial %s, want %s", got, tc.serialHex)
			}
			if len(e.LocalKeyID) == 0 {
				t.Errorf("no localKeyId")
			}
			var chainCNs []string
			for _, c := range e.Chain {
				chainCNs = append(chainCNs, c.Subject.CommonName)
			}
			if strings.Join(chainCNs, "|") != strings.Join(tc.chainCNs, "|") {
				t.Errorf("chain %q, want %q", chainCNs, tc.chainCNs)
			}
			if e.Decrypter() == nil {
				t.Errorf("RSA key should be usable as crypto.Decrypter")
			}

			// The derived PEM files hold the same key and certificate.
			want, err := LoadPEM(readVector(t, tc.derived+".key.pem"), readVector(t, tc.derived+".cert.pem"), "")
			if err != nil {
				t.Fatalf("LoadPEM(derived): %v", err)
			}
			if !want.Certificate.Equal(e.Certificate) {
				t.Errorf("certificate differs from %s.cert.pem", tc.derived)
			}
			if !publicKeysEqual(want.Signer.Public(), e.Signer.Public()) {
				t.Errorf("key differs from %s.key.pem", tc.derived)
			}
			if !privateKeysEqual(want.Signer, e.Signer) {
				t.Errorf("private key differs from %s.key.pem", tc.derived)
			}
			if tc.derivedChain != "" {
				cas, err := LoadCertificates(readVector(t, tc.derivedChain))
				if err != nil {
					t.Fatal(err)
				}
				if len(cas) != len(e.Chain) {
					t.Fatalf("derived chain has %d certificates, entry %d", len(cas), len(e.Chain))
				}
				for _, ca := range cas {
					found := false
					for _, c := range e.Chain {
						found = found || c.Equal(ca)
					}
					if !found {
						t.Errorf("derived CA %s not in the entry's chain", ca.Subject)
					}
				}
			}

			// A wrong password is named as such and the error never shows
			// either password.
			_, err = LoadPKCS12(data, tc.password+"x")
			if !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: got %v, want ErrWrongPassword", err)
			}
			if err != nil && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error text contains the password: %v", err)
			}
		})
	}
}

// SelectKeyEntry finds Windows stores by the certificate's friendlyName too.
func TestSelectKeyEntryVector(t *testing.T) {
	entries, err := LoadPKCS12(readVector(t, "as4net/AccessPointA.pfx"), "Pz4cZK4SULUwmraZa")
	if err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{"", "{69E83739-9D7A-4620-A46A-63F9C433DEA5}", "cn=accesspointa"} {
		if _, err := SelectKeyEntry(entries, alias); err != nil {
			t.Errorf("SelectKeyEntry(%q): %v", alias, err)
		}
	}
	if _, err := SelectKeyEntry(entries, "accesspointb"); err == nil {
		t.Errorf("SelectKeyEntry(accesspointb) should fail")
	}
}

// The derived trust material loads as certificates, and a keystore is not
// accepted as a trust store.
func TestPKCS12TrustStoreRejectsKeystore(t *testing.T) {
	_, err := LoadPKCS12TrustStore(readVector(t, "as4net/partyC.p12"), "ExampleC")
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("got %v, want ErrUnsupportedFormat", err)
	}
}

func privateKeysEqual(a, b crypto.Signer) bool {
	eq, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && eq.Equal(b)
}
