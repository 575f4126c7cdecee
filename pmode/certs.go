package pmode

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// ResolveCertificates loads each party's CertificateFile (PEM with one
// CERTIFICATE block, or DER) into Certificate. Relative paths are taken from
// baseDir (the configuration file's folder). Every failure is reported, as
// Problems under the "pmodes" key like Validate's.
func (s *Set) ResolveCertificates(baseDir string) error {
	var problems Problems
	for i := range s.Parties {
		p := &s.Parties[i]
		if p.CertificateFile == "" {
			continue
		}
		file := p.CertificateFile
		if !filepath.IsAbs(file) && baseDir != "" {
			file = filepath.Join(baseDir, file)
		}
		cert, err := readCertificate(file)
		if err != nil {
			problems = append(problems, Problem{Path: fmt.Sprintf("pmodes.parties[%d].certificateFile", i), Message: err.Error()})
			continue
		}
		p.Certificate = cert
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

func readCertificate(file string) (*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block is %q, expects CERTIFICATE", file, block.Type)
		}
		der = block.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cert, nil
}
