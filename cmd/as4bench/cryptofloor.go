package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"syscall"
	"time"
)

// cryptoFloor is the cost of the private-key operations one exchange needs,
// measured on this machine with the keys in use.
type cryptoFloor struct {
	KeyBits int `json:"keyBits"`
	// Seconds of CPU per operation.
	SenderSignSeconds     float64 `json:"senderSignSeconds"`     // RSA-PKCS1v15-SHA256 sign, sender's key
	ReceiverUnwrapSeconds float64 `json:"receiverUnwrapSeconds"` // RSA-OAEP-SHA256 decrypt of a 16-byte key, receiver's key
	ReceiptSignSeconds    float64 `json:"receiptSignSeconds"`    // RSA-PKCS1v15-SHA256 sign, receiver's key
	SecondsPerExchange    float64 `json:"secondsPerExchange"`
	Cores                 int     `json:"cores"`
	LimitPerSecond        float64 `json:"limitPerSecond"`
	// The public-key operations the exchange needs as well (blue's RSA-OAEP key wrap
	// for red, red's check of blue's signature, blue's check of the receipt's): not
	// part of the floor above, reported so that a run shows how much of the exchange
	// is RSA at all.
	PublicKeySeconds     float64 `json:"publicKeySeconds"`
	AllRSASecondsPerExch float64 `json:"allRsaSecondsPerExchange"`
	AllRSALimitPerSecond float64 `json:"allRsaLimitPerSecond"`
	Iterations           int     `json:"iterations"`
	Clock                string  `json:"clock"` // "thread-cpu" or "wall"
}

func readRSAKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no RSA private key in PEM", path)
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: a %T, not an RSA key", path, k)
			}
			return rk, nil
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(b.Bytes)
		}
	}
}

// measureCryptoFloor times each private-key operation over iterations runs on
// one locked OS thread and charges its CPU time (RUSAGE_THREAD), so that other
// load on a shared machine inflates it less than wall time would.
func measureCryptoFloor(senderKey, receiverKey *rsa.PrivateKey, iterations int) (cryptoFloor, error) {
	if iterations < 1 {
		iterations = 1
	}
	f := cryptoFloor{KeyBits: senderKey.N.BitLen(), Cores: runtime.NumCPU(), Iterations: iterations, Clock: "thread-cpu"}
	digest := sha256.Sum256([]byte("as4bench: the SignedInfo of one message"))
	cek := make([]byte, 16)
	_, _ = rand.Read(cek)
	oaep := &rsa.OAEPOptions{Hash: crypto.SHA256, MGFHash: crypto.SHA256}
	wrapped, err := rsa.EncryptOAEPWithOptions(rand.Reader, &receiverKey.PublicKey, cek, oaep)
	if err != nil {
		return f, err
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := threadCPU
	if _, err := threadCPU(); err != nil {
		clock, f.Clock = wallClock, "wall"
	}
	timeOp := func(op func() error) (float64, error) {
		if err := op(); err != nil { // warm-up, and fail early
			return 0, err
		}
		start, _ := clock()
		for range iterations {
			if err := op(); err != nil {
				return 0, err
			}
		}
		end, _ := clock()
		return (end - start).Seconds() / float64(iterations), nil
	}
	var errs []error
	var e error
	f.SenderSignSeconds, e = timeOp(func() error {
		_, err := rsa.SignPKCS1v15(nil, senderKey, crypto.SHA256, digest[:])
		return err
	})
	errs = append(errs, e)
	f.ReceiverUnwrapSeconds, e = timeOp(func() error {
		_, err := rsa.DecryptOAEP(sha256.New(), nil, receiverKey, wrapped, nil)
		return err
	})
	errs = append(errs, e)
	f.ReceiptSignSeconds, e = timeOp(func() error {
		_, err := rsa.SignPKCS1v15(nil, receiverKey, crypto.SHA256, digest[:])
		return err
	})
	errs = append(errs, e)
	sig, err := rsa.SignPKCS1v15(nil, senderKey, crypto.SHA256, digest[:])
	if err != nil {
		return f, err
	}
	rsig, err := rsa.SignPKCS1v15(nil, receiverKey, crypto.SHA256, digest[:])
	if err != nil {
		return f, err
	}
	var wrapS, verifyS, receiptVerifyS float64
	wrapS, e = timeOp(func() error {
		_, err := rsa.EncryptOAEPWithOptions(rand.Reader, &receiverKey.PublicKey, cek, oaep)
		return err
	})
	errs = append(errs, e)
	verifyS, e = timeOp(func() error { return rsa.VerifyPKCS1v15(&senderKey.PublicKey, crypto.SHA256, digest[:], sig) })
	errs = append(errs, e)
	receiptVerifyS, e = timeOp(func() error { return rsa.VerifyPKCS1v15(&receiverKey.PublicKey, crypto.SHA256, digest[:], rsig) })
	errs = append(errs, e)
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	f.PublicKeySeconds = math.Round((wrapS+verifyS+receiptVerifyS)*1e9) / 1e9
	for _, p := range []*float64{&f.SenderSignSeconds, &f.ReceiverUnwrapSeconds, &f.ReceiptSignSeconds} {
		*p = math.Round(*p*1e9) / 1e9 // nanoseconds
	}
	f.SecondsPerExchange = math.Round((f.SenderSignSeconds+f.ReceiverUnwrapSeconds+f.ReceiptSignSeconds)*1e9) / 1e9
	if f.SecondsPerExchange > 0 {
		f.LimitPerSecond = math.Round(float64(f.Cores)/f.SecondsPerExchange*10) / 10
	}
	f.AllRSASecondsPerExch = math.Round((f.SecondsPerExchange+f.PublicKeySeconds)*1e9) / 1e9
	if f.AllRSASecondsPerExch > 0 {
		f.AllRSALimitPerSecond = math.Round(float64(f.Cores)/f.AllRSASecondsPerExch*10) / 10
	}
	return f, nil
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's usage only.
const rusageThread = 1

func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

var wallStart = time.Now()

func wallClock() (time.Duration, error) { return time.Since(wallStart), nil }
