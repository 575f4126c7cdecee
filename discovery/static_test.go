package discovery

import (
	"errors"
	"testing"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestStaticConfigLoad(t *testing.T) {
	dir := t.TempDir()
	certFile := dir + "/ap.pem"
	root := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "static test", KeySlot: 7501}))
	if err := testpki.WritePEM(certFile, root); err != nil {
		t.Fatal(err)
	}
	good := StaticConfig{Participant: "0203:x.se", URL: "https://x.test/as4", CertificateFile: certFile,
		DocumentTypes: []string{"busdox-docid-qns::urn:doc"}, Processes: []string{"urn:fdc:digg.se:edelivery:process::bdx:noprocess"}}
	s, err := good.Load()
	if err != nil || s.Participant != (Identifier{ParticipantScheme, "0203:x.se"}) || len(s.Processes) != 1 || s.Certificate == nil {
		t.Fatalf("%+v %v", s, err)
	}
	tests := []struct {
		field  string
		mutate func(*StaticConfig)
	}{
		{"participant", func(c *StaticConfig) { c.Participant = "::x" }},
		{"url", func(c *StaticConfig) { c.URL = "x.test" }},
		{"certificateFile", func(c *StaticConfig) { c.CertificateFile = dir + "/missing.pem" }},
		{"documentTypes", func(c *StaticConfig) { c.DocumentTypes = nil }},
		{"documentTypes[0]", func(c *StaticConfig) { c.DocumentTypes = []string{"nodoublecolon"} }},
		{"processes[0]", func(c *StaticConfig) { c.Processes = []string{"x"} }},
	}
	for _, tc := range tests {
		c := good
		tc.mutate(&c)
		_, err := c.Load()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
}
