package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"testing"

	"github.com/as4gw/as4gw/store"
)

// TestLargeUploadStreams submits a 50 MB payload generated on the fly through a pipe and
// checks that the handler allocates a small fraction of it: the payload is streamed to
// disk, never held in memory.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB upload")
	}
	const size = 50 << 20
	e := newEnv(t)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sum := make(chan string, 1)
	go func() {
		meta := validMeta()
		meta["payloads"] = []map[string]any{{"id": "message", "mimeType": "text/xml"}}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="metadata"`)
		h.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(h)
		json.NewEncoder(w).Encode(meta)
		fw, _ := mw.CreateFormFile("message", "big.xml")
		hash := sha256.New()
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = "<abcdefghijklmnopqrstuvwxyz/>\n"[i%30]
		}
		for n := 0; n < size; n += len(chunk) {
			hash.Write(chunk)
			if _, err := fw.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
		sum <- hex.EncodeToString(hash.Sum(nil))
	}()
	r := httptest.NewRequest(http.MethodPost, messages, pr)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Authorization", "Bearer "+tokenA)
	w := httptest.NewRecorder()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.srv.ServeHTTP(w, r)
	runtime.ReadMemStats(&after)

	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MiB for a %d MiB upload (heap in use %.1f MiB → %.1f MiB)",
		float64(allocated)/(1<<20), size>>20, float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20))
	if allocated > 16<<20 {
		t.Errorf("allocated %d bytes: the payload was buffered", allocated)
	}
	id := decodeJSON[submitResponse](t, w).MessageID
	ms, err := e.st.Find(context.Background(), store.Outbound, id)
	if err != nil || len(ms) != 1 {
		t.Fatal(err)
	}
	p := ms[0].Payloads[0]
	if want := <-sum; p.Size != size || p.SHA256.String() != want {
		t.Errorf("stored %d bytes, sha256 %s; want %d, %s", p.Size, p.SHA256, size, want)
	}
}
