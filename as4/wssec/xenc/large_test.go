package xenc

import (
	"bufio"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
)

// generator returns n deterministic pseudo-random bytes without holding
// them.
func generator(seed byte, n int64) io.ReadCloser {
	return io.NopCloser(io.LimitReader(rand.NewChaCha8([32]byte{seed, 42}), n))
}

// heapWatch samples the live heap until stopped and reports the peak above
// the level at start.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapWatch{base: ms.HeapAlloc, stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.peak.Load() {
				h.peak.Store(ms.HeapAlloc)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapWatch) growth() uint64 {
	close(h.stop)
	h.wg.Wait()
	if p := h.peak.Load(); p > h.base {
		return p - h.base
	}
	return 0
}

// TestLarge sends a 300 MB attachment through sign → encrypt → MIME file →
// read → decrypt → verify and checks that the heap stays small throughout:
// nothing holds the attachment in memory.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("300 MB round trip skipped in -short mode")
	}
	const size = 300 << 20
	const cid = "big@as4gw.test"
	h := sha256.New()
	io.Copy(h, generator(1, size))
	want := h.Sum(nil)

	watch := watchHeap()
	start := time.Now()
	env := newEnvelope(t, []payload{{cid: cid, mime: "application/octet-stream"}})
	open := func() (io.ReadCloser, error) { return generator(1, size), nil }
	if _, err := wssec.Sign(wenv(env), []wssec.Attachment{{ContentID: cid, ContentType: "application/octet-stream", Open: open}}, wssec.SignOptions{Key: sender().Signer, Certificate: sender().Certificate}); err != nil {
		t.Fatal(err)
	}
	res, err := EncryptAttachments(wenv(env), []PlainAttachment{{ContentID: cid, ContentType: "application/octet-stream", Open: open}}, receiver().Certificate, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wirePath := filepath.Join(dir, "wire.mime")
	f, err := os.Create(wirePath)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	mw := soap.NewWriter(bw)
	envBytes, _ := env.Bytes()
	if err := mw.WriteEnvelope(envBytes); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteAttachments(mw); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res.Destroy()
	sent := time.Since(start)

	start = time.Now()
	in, err := os.Open(wirePath)
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	os.Mkdir(spool, 0o700)
	lim := soap.Limits{MaxMessageBytes: 400 << 20, MaxAttachmentBytes: 400 << 20}
	msg, err := soap.ReadMessage(in, mw.ContentType(), lim, spool)
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	os.Remove(wirePath)
	dres, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	envW, atts := wssec.FromSOAP(msg)
	if _, err := wssec.Verify(envW, atts, wssec.VerifyOptions{Policy: wssec.DefaultPolicy(), At: fixedTime}); err != nil {
		t.Fatal(err)
	}
	received := time.Since(start)
	growth := watch.growth()

	att := msg.Attachments[0]
	if att.Size != size || string(att.SHA256[:]) != string(want) || dres.Parts[0].Size != size {
		t.Fatalf("plaintext differs: %d bytes", att.Size)
	}
	if n := len(spoolFiles(t, spool)); n != 1 {
		t.Fatalf("%d files in the spool dir", n)
	}
	t.Logf("300 MiB: sign+encrypt+write %v, read+decrypt+verify %v, peak heap growth %.1f MiB", sent.Round(time.Millisecond), received.Round(time.Millisecond), float64(growth)/(1<<20))
	if growth > 32<<20 {
		t.Fatalf("heap grew by %d MiB, want < 32 MiB", growth>>20)
	}
}
