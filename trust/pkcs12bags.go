package trust

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"unicode/utf16"
)

// This file reads only the unencrypted outer layers of a PKCS#12 file to
// recover bag attributes (friendlyName, localKeyId) when go-pkcs12's ToPEM
// cannot be used. Shrouded key bags keep their attributes outside the
// encryption, so a key's alias is visible here even when its contents are
// not. Nothing read here is trusted: the MAC has already been verified by
// go-pkcs12 before these attributes are used, and they only name entries.

var (
	oidP12Data          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidP12KeyBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidP12ShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidP12CertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidP12FriendlyName  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidP12LocalKeyID    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidP12X509CertValue = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
)

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"tag:0,explicit"`
	Attributes []p12Attribute `asn1:"set,optional"`
}

type p12Attribute struct {
	ID     asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type p12CertBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

// bagAttributes describes one bag found in an unencrypted SafeContents.
type bagAttributes struct {
	isKey        bool
	cert         *x509.Certificate // set for certificate bags
	friendlyName string
	localKeyID   []byte
}

// plainBagAttributes lists the bags in the unencrypted SafeContents of a
// PKCS#12 file with their attributes. Bags inside encrypted SafeContents are
// not visible and not listed.
func plainBagAttributes(data []byte) ([]bagAttributes, error) {
	var pfx p12PFX
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return nil, err
	}
	if !pfx.AuthSafe.ContentType.Equal(oidP12Data) {
		return nil, errors.New("authSafe is not data")
	}
	var authSafeOctets []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafeOctets); err != nil {
		return nil, err
	}
	var safes []p12ContentInfo
	if _, err := asn1.Unmarshal(authSafeOctets, &safes); err != nil {
		return nil, err
	}
	var out []bagAttributes
	for _, ci := range safes {
		if !ci.ContentType.Equal(oidP12Data) {
			continue // encryptedData: contents not visible without decryption
		}
		var octets []byte
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &octets); err != nil {
			return nil, err
		}
		var bags []p12SafeBag
		if _, err := asn1.Unmarshal(octets, &bags); err != nil {
			return nil, err
		}
		for _, bag := range bags {
			var ba bagAttributes
			switch {
			case bag.ID.Equal(oidP12KeyBag), bag.ID.Equal(oidP12ShroudedKey):
				ba.isKey = true
			case bag.ID.Equal(oidP12CertBag):
				var cb p12CertBag
				if _, err := asn1.Unmarshal(bag.Value.Bytes, &cb); err == nil && cb.ID.Equal(oidP12X509CertValue) {
					ba.cert, _ = x509.ParseCertificate(cb.Data)
				}
			default:
				continue
			}
			for _, a := range bag.Attributes {
				var v asn1.RawValue
				if _, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil {
					continue
				}
				switch {
				case a.ID.Equal(oidP12FriendlyName) && v.Tag == asn1.TagBMPString:
					ba.friendlyName = decodeBMP(v.Bytes)
				case a.ID.Equal(oidP12LocalKeyID) && v.Tag == asn1.TagOctetString:
					ba.localKeyID = v.Bytes
				}
			}
			out = append(out, ba)
		}
	}
	return out, nil
}

// decodeBMP decodes a BMPString (UTF-16BE), dropping a trailing NUL.
func decodeBMP(b []byte) string {
	if len(b)%2 != 0 {
		return ""
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	if n := len(u); n > 0 && u[n-1] == 0 {
		u = u[:n-1]
	}
	return string(utf16.Decode(u))
}
