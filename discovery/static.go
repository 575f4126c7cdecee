package discovery

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/trust"
)

// StaticConfig is a static override as written in the configuration file:
// identifiers as "scheme::value" strings and the certificate as a file.
type StaticConfig struct {
	// Participant is "scheme::value"; a bare value takes the participant
	// scheme (iso6523-actorid-upis).
	Participant string
	URL         string
	// CertificateFile holds the receiving access point's certificate (PEM
	// or DER; the first certificate is used).
	CertificateFile  string
	DocumentTypes    []string
	Processes        []string
	TransportProfile string
}

// FieldError names the field of a StaticConfig that is wrong, so the
// configuration layer can report the key.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Load checks c, reads the certificate and returns the StaticEndpoint.
// Errors are *FieldError naming participant, url, certificateFile,
// documentTypes[i] or processes[i].
func (c StaticConfig) Load() (StaticEndpoint, error) {
	var s StaticEndpoint
	p := strings.TrimSpace(c.Participant)
	if !strings.Contains(p, "::") {
		p = ParticipantScheme + "::" + p
	}
	var err error
	if s.Participant, err = ParseIdentifier(p); err != nil {
		return s, &FieldError{"participant", err}
	}
	if err := checkSMPURL(c.URL); err != nil {
		return s, &FieldError{"url", err}
	}
	s.URL = c.URL
	if c.CertificateFile == "" {
		return s, &FieldError{"certificateFile", fmt.Errorf("required")}
	}
	certs, err := trust.LoadCertificatesFile(c.CertificateFile)
	if err != nil {
		return s, &FieldError{"certificateFile", err}
	}
	s.Certificate = certs[0]
	if len(c.DocumentTypes) == 0 {
		return s, &FieldError{"documentTypes", fmt.Errorf("list at least one document type")}
	}
	for i, d := range c.DocumentTypes {
		id, err := ParseIdentifier(strings.TrimSpace(d))
		if err != nil {
			return s, &FieldError{fmt.Sprintf("documentTypes[%d]", i), err}
		}
		s.DocumentTypes = append(s.DocumentTypes, id)
	}
	for i, d := range c.Processes {
		id, err := ParseIdentifier(strings.TrimSpace(d))
		if err != nil {
			return s, &FieldError{fmt.Sprintf("processes[%d]", i), err}
		}
		s.Processes = append(s.Processes, id)
	}
	s.TransportProfile = c.TransportProfile
	return s, nil
}
