package trust

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018):
// what `openssl pkcs8 -topk8` and `openssl genpkey -aes256` write. The
// standard library has no reader for it. PKCS#12-style PBE (pbeWithSHA1And…)
// and scrypt are not supported here; such keys are rare outside .p12 files,
// which go-pkcs12 handles.

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// maxPBKDF2Iterations bounds the work an attacker-supplied key file can
// cause; real files use 2,048 to a few hundred thousand.
const maxPBKDF2Iterations = 10_000_000

func decryptPKCS8(der []byte, password string) ([]byte, error) {
	var epki encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &epki); err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: %v", ErrUnsupportedFormat, err)
	}
	if !epki.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: encryption %s (only PBES2 is supported; convert with openssl pkcs8 -topk8 -v2 aes-256-cbc)",
			ErrUnsupportedFormat, epki.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(epki.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: PBES2 parameters: %v", ErrUnsupportedFormat, err)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: key derivation %s (only PBKDF2 is supported)",
			ErrUnsupportedFormat, params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: PBKDF2 parameters: %v", ErrUnsupportedFormat, err)
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: PBKDF2 iteration count %d out of range", ErrUnsupportedFormat, kdf.IterationCount)
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0, alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA224):
		prf = sha256.New224
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: PBKDF2 PRF %s", ErrUnsupportedFormat, alg)
	}

	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch enc := params.EncryptionScheme.Algorithm; {
	case enc.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case enc.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case enc.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case enc.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: cipher %s", ErrUnsupportedFormat, enc)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: key length %d does not fit the cipher", ErrUnsupportedFormat, kdf.KeyLength)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: IV: %v", ErrUnsupportedFormat, err)
	}

	key, err := pbkdf2.Key(prf, password, kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w", err)
	}
	if len(iv) != block.BlockSize() || len(epki.EncryptedData) == 0 || len(epki.EncryptedData)%block.BlockSize() != 0 {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w: bad IV or ciphertext length", ErrUnsupportedFormat)
	}
	plain := make([]byte, len(epki.EncryptedData))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, epki.EncryptedData)
	// A wrong password almost always shows up as bad padding; the rare
	// wrong-but-well-padded result fails to parse as a key afterwards.
	n := int(plain[len(plain)-1])
	if n == 0 || n > block.BlockSize() || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, fmt.Errorf("trust: encrypted PKCS#8: %w", ErrWrongPassword)
	}
	return plain[:len(plain)-n], nil
}
