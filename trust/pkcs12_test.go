package trust

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/trust/testpki"
	"software.sslmate.com/src/go-pkcs12"
)

func TestLoadPKCS12Generated(t *testing.T) {
	f := pki(t)
	const pw = "correct horse"
	qaLeaf, qaICA, qaRoot := f.qa.Leaf, f.qa.Intermediate, f.qa.Root
	prodLeaf := f.prod.Leaf

	type want struct {
		alias string
		cn    string
		chain int
	}
	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		want    []want
		wantErr error
		// fallback: ToPEM refuses the store, so DecodeChain reads it.
		fallback bool
	}{
		{
			name: "go-pkcs12 Modern2023 with chain",
			data: func(t *testing.T) []byte {
				d, err := pkcs12.Modern2023.Encode(qaLeaf.Key, qaLeaf.Certificate, certs(qaRoot, qaICA), pw)
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
			want: []want{{"", "AP0001-SDK-QA", 2}},
		},
		{
			name: "go-pkcs12 LegacyRC2",
			data: func(t *testing.T) []byte {
				d, err := pkcs12.LegacyRC2.Encode(qaLeaf.Key, qaLeaf.Certificate, nil, pw)
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
			want: []want{{"", "AP0001-SDK-QA", 0}},
		},
		{
			name: "go-pkcs12 LegacyDES",
			data: func(t *testing.T) []byte {
				d, err := pkcs12.LegacyDES.Encode(qaLeaf.Key, qaLeaf.Certificate, certs(qaICA), pw)
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
			want: []want{{"", "AP0001-SDK-QA", 1}},
		},
		{
			// Two keys as in a converted Domibus keystore; certificates in
			// another order than the keys, paired by localKeyId.
			name: "two keys paired by localKeyId",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, friendlyName: "blue_gw", localKeyID: []byte("k1")},
					p12Bag{key: prodLeaf.Key, cert: prodLeaf.Certificate, friendlyName: "red_gw", localKeyID: []byte("k2")},
					p12Bag{cert: prodLeaf.Certificate, friendlyName: "red_gw", localKeyID: []byte("k2")},
					p12Bag{cert: qaICA.Certificate, friendlyName: "ca"},
					p12Bag{cert: qaLeaf.Certificate, friendlyName: "blue_gw", localKeyID: []byte("k1")},
				)
			},
			want: []want{{"blue_gw", "AP0001-SDK-QA", 1}, {"red_gw", "AP0001-SDK-PROD", 0}},
		},
		{
			name: "no localKeyId: paired by public key",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate},
					p12Bag{cert: qaICA.Certificate},
					p12Bag{cert: qaLeaf.Certificate, friendlyName: "from-cert"},
				)
			},
			want: []want{{"from-cert", "AP0001-SDK-QA", 1}},
		},
		{
			name: "localKeyId points at another key's certificate",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, friendlyName: "a", localKeyID: []byte("k1")},
					p12Bag{cert: prodLeaf.Certificate, localKeyID: []byte("k1")},
				)
			},
			wantErr: ErrKeyMismatch,
		},
		{
			name: "key without certificate",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, friendlyName: "a", localKeyID: []byte("k1")},
					p12Bag{cert: qaICA.Certificate},
				)
			},
			wantErr: ErrNoCertificate,
		},
		{
			// ToPEM refuses the unknown attribute; DecodeChain reads the one
			// key and the alias comes from the unencrypted bag attributes.
			name: "single key with an attribute ToPEM refuses",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, friendlyName: "partya", localKeyID: []byte{1, 0, 0, 0}, extraAttr: true},
					p12Bag{cert: qaRoot.Certificate},
					p12Bag{cert: qaICA.Certificate},
					p12Bag{cert: qaLeaf.Certificate, localKeyID: []byte{1, 0, 0, 0}},
				)
			},
			want:     []want{{"partya", "AP0001-SDK-QA", 2}},
			fallback: true,
		},
		{
			// keytool keystores mark trusted-certificate entries with an
			// attribute ToPEM does not know.
			name: "single key plus Java trusted certificate entry",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, friendlyName: "ap", localKeyID: []byte("k")},
					p12Bag{cert: qaLeaf.Certificate, friendlyName: "ap", localKeyID: []byte("k")},
					p12Bag{cert: prodLeaf.Certificate, friendlyName: "partner", javaTrusted: true},
				)
			},
			want:     []want{{"ap", "AP0001-SDK-QA", 0}},
			fallback: true,
		},
		{
			name: "several keys with an attribute ToPEM refuses",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, localKeyID: []byte("k1"), extraAttr: true},
					p12Bag{key: prodLeaf.Key, cert: prodLeaf.Certificate, localKeyID: []byte("k2")},
					p12Bag{cert: qaLeaf.Certificate, localKeyID: []byte("k1")},
					p12Bag{cert: prodLeaf.Certificate, localKeyID: []byte("k2")},
				)
			},
			wantErr: ErrUnsupportedFormat,
		},
		{
			name: "trust store given as keystore",
			data: func(t *testing.T) []byte {
				d, err := pkcs12.Modern2023.EncodeTrustStore(certs(qaRoot, qaICA), pw)
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
			wantErr: ErrNoPrivateKey,
		},
		{
			// Java allows a key password other than the store password.
			name: "key encrypted under another password",
			data: func(t *testing.T) []byte {
				return buildPKCS12(t, pw,
					p12Bag{key: qaLeaf.Key, cert: qaLeaf.Certificate, localKeyID: []byte("k"), keyPassword: "other"},
					p12Bag{cert: qaLeaf.Certificate, localKeyID: []byte("k")},
				)
			},
			wantErr: ErrWrongPassword,
		},
		{
			name:    "not PKCS#12",
			data:    func(*testing.T) []byte { return qaLeaf.CertPEM() },
			wantErr: ErrUnsupportedFormat,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			if _, err := pkcs12.ToPEM(data, pw); tc.want != nil && (err != nil) != tc.fallback {
				t.Errorf("ToPEM error %v, fallback expected: %v", err, tc.fallback)
			}
			entries, err := LoadPKCS12(data, pw)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), pw) {
					t.Errorf("error contains the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadPKCS12: %v", err)
			}
			if len(entries) != len(tc.want) {
				t.Fatalf("got %d entries, want %d", len(entries), len(tc.want))
			}
			for i, w := range tc.want {
				e := entries[i]
				if e.Alias != w.alias || e.Certificate.Subject.CommonName != w.cn || len(e.Chain) != w.chain {
					t.Errorf("entry %d: alias %q cn %q chain %d; want %q %q %d", i, e.Alias, e.Certificate.Subject.CommonName, len(e.Chain), w.alias, w.cn, w.chain)
				}
				if err := e.Check(); err != nil {
					t.Errorf("entry %d: %v", i, err)
				}
				if w.chain > 0 && e.Chain[0].Subject.CommonName != "Accesspunkt CA-SDK-QA" {
					t.Errorf("entry %d: chain starts with %s, want the issuing CA", i, e.Chain[0].Subject)
				}
			}
			if _, err := LoadPKCS12(data, "wrong"); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: got %v, want ErrWrongPassword", err)
			}
		})
	}
}

func TestLoadPKCS12TrustStore(t *testing.T) {
	f := pki(t)
	const pw = "changeit"
	javaStyle, err := pkcs12.Modern2023.EncodeTrustStore(certs(f.qa.Root, f.prod.Root), pw)
	if err != nil {
		t.Fatal(err)
	}
	// openssl pkcs12 -export -nokeys style: certificates without the Java marker.
	plain := buildPKCS12(t, pw, p12Bag{cert: f.qa.Root.Certificate}, p12Bag{cert: f.prod.Root.Certificate})
	withKey := buildPKCS12(t, pw,
		p12Bag{key: f.qa.Leaf.Key, cert: f.qa.Leaf.Certificate, localKeyID: []byte("k")},
		p12Bag{cert: f.qa.Leaf.Certificate, localKeyID: []byte("k")})

	tests := []struct {
		name     string
		data     []byte
		password string
		n        int
		wantErr  error
	}{
		{"java trust store", javaStyle, pw, 2, nil},
		{"certificates without trust marker", plain, pw, 2, nil},
		{"wrong password", javaStyle, "nope", 0, ErrWrongPassword},
		{"keystore", withKey, pw, 0, ErrUnsupportedFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadPKCS12TrustStore(tc.data, tc.password)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("got %d certificates, want %d", len(got), tc.n)
			}
			s := NewStore()
			if err := s.AddPKCS12TrustStore(tc.data, tc.password); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(f.qa.Leaf.Certificate, certs(f.qa.Intermediate), VerifyOptions{Revocation: NoRevocationCheck{}}); err != nil {
				t.Errorf("verify against loaded trust store: %v", err)
			}
		})
	}
}

func TestSelectKeyEntry(t *testing.T) {
	f := pki(t)
	mk := func(alias, certAlias string, c *testpki.Cert) KeyEntry {
		return KeyEntry{Alias: alias, CertificateAlias: certAlias, Identity: Identity{Signer: c.Key, Certificate: c.Certificate}}
	}
	one := []KeyEntry{mk("blue_gw", "", f.qa.Leaf)}
	two := []KeyEntry{mk("blue_gw", "", f.qa.Leaf), mk("red_gw", "CN=red", f.prod.Leaf)}
	tests := []struct {
		entries []KeyEntry
		alias   string
		wantCN  string // "" means error
	}{
		{one, "", "AP0001-SDK-QA"},
		{two, "", ""},
		{two, "red_gw", "AP0001-SDK-PROD"},
		{two, "RED_GW", "AP0001-SDK-PROD"},
		{two, "cn=red", "AP0001-SDK-PROD"},
		{two, "green_gw", ""},
	}
	for _, tc := range tests {
		e, err := SelectKeyEntry(tc.entries, tc.alias)
		switch {
		case tc.wantCN == "" && err == nil:
			t.Errorf("SelectKeyEntry(%d entries, %q): want error", len(tc.entries), tc.alias)
		case tc.wantCN != "" && err != nil:
			t.Errorf("SelectKeyEntry(%d entries, %q): %v", len(tc.entries), tc.alias, err)
		case tc.wantCN != "" && e.Certificate.Subject.CommonName != tc.wantCN:
			t.Errorf("SelectKeyEntry(%q) = %s", tc.alias, e.Certificate.Subject.CommonName)
		}
	}
}

func TestNewIdentity(t *testing.T) {
	f := pki(t)
	if _, err := NewIdentity(f.qa.Leaf.Key, f.qa.Leaf.Certificate, nil); err != nil {
		t.Fatalf("matching pair: %v", err)
	}
	_, err := NewIdentity(f.qa.Leaf.Key, f.prod.Leaf.Certificate, nil)
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "AP0001-SDK-PROD") {
		t.Fatalf("mismatch: got %v", err)
	}
	if _, err := NewIdentity(f.qa.Leaf.Key, nil, nil); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("nil certificate: got %v", err)
	}
	id, _ := NewIdentity(f.qa.Leaf.Key, f.qa.Leaf.Certificate, []*x509.Certificate{f.qa.Intermediate.Certificate})
	if fc := id.FullChain(); len(fc) != 2 || fc[0] != f.qa.Leaf.Certificate {
		t.Errorf("FullChain = %d certificates", len(fc))
	}
}
