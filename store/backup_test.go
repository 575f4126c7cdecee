package store

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillStore gives s an outbound and an inbound message with payloads and returns them.
func fillStore(t testing.TB, s *BoltStore) (out, in Message) {
	t.Helper()
	out = mustSubmit(t, s, outMsg("out@gw", "b", putPayload(t, s, []byte("outbound payload")), putPayload(t, s, bytes.Repeat([]byte("x"), 70000))))
	in = mustReceive(t, s, inMsg("in@gw", "peer", "org-a", putPayload(t, s, []byte("inbound payload"))))
	return out, in
}

func TestBackupRestore(t *testing.T) {
	tests := []struct {
		name          string
		opts          Options
		files, inline int
	}{
		{"inline", Options{}, 1, 2}, // the 70,000-byte payload is past the inline threshold: a file
		{"files", filesOnly, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestWith(t, tt.opts)
			testBackupRestore(t, s, tt.files, tt.inline)
		})
	}
}

func testBackupRestore(t *testing.T, s *BoltStore, files, inline int) {
	out, in := fillStore(t, s)
	var buf bytes.Buffer
	man, err := s.Backup(bg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if man.Messages != 2 || man.PayloadFiles != files+inline || man.InlinePayloads != inline || man.SchemaVersion != SchemaVersion || len(man.Files) != 1+files {
		t.Fatalf("manifest %+v", man)
	}
	if _, err := ReadBackup(bytes.NewReader(buf.Bytes()), ""); err != nil {
		t.Fatalf("verify: %v", err)
	}
	dest := filepath.Join(t.TempDir(), "store")
	got, err := ReadBackup(bytes.NewReader(buf.Bytes()), dest)
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages != 2 {
		t.Fatalf("read manifest %+v", got)
	}
	r, err := OpenBolt(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rec := r.Recovered(); rec.OrphansRemoved != 0 {
		t.Fatalf("restored store had orphans: %+v", rec)
	}
	for _, m := range []Message{out, in} {
		g := mustGet(t, r, m.Key)
		if g.ID != m.ID || g.State != m.State || len(g.Payloads) != len(m.Payloads) {
			t.Fatalf("restored %+v, want %+v", g, m)
		}
		for i, p := range g.Payloads {
			if !bytes.Equal(readPayload(t, r, p.Blob), readPayload(t, s, m.Payloads[i].Blob)) {
				t.Fatalf("payload %d of %s differs", i, m.ID)
			}
		}
		checkPayloads(t, r, g)
	}
	checkInvariants(t, r)
}

// rewrite copies a backup archive entry by entry through edit, which may change the
// header or body or drop the entry (nil header).
func rewrite(t *testing.T, archive []byte, edit func(h *tar.Header, body []byte) (*tar.Header, []byte)) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h, body = edit(h, body)
		if h == nil {
			continue
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}

func TestReadBackupRefuses(t *testing.T) {
	s, _ := openTest(t)
	fillStore(t, s)
	var buf bytes.Buffer
	if _, err := s.Backup(bg, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	isBlob := func(h *tar.Header) bool { return strings.HasPrefix(h.Name, "payloads/") }
	firstBlob := ""
	tests := []struct {
		name    string
		archive func() []byte
		want    string
	}{
		{"truncated", func() []byte { return good[:len(good)-3000] }, ""},
		{"empty", func() []byte { return nil }, "no manifest.json"},
		{"payload flipped", func() []byte {
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if isBlob(h) && firstBlob == "" {
					firstBlob = h.Name
					b = bytes.Clone(b)
					b[0] ^= 1
				}
				return h, b
			})
		}, "is damaged"},
		{"payload missing", func() []byte {
			dropped := false
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if isBlob(h) && !dropped {
					dropped = true
					return nil, nil
				}
				return h, b
			})
		}, "which the archive lacks"},
		{"path traversal", func() []byte {
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if isBlob(h) {
					h.Name = "../../etc/" + filepath.Base(h.Name)
				}
				return h, b
			})
		}, "unexpected entry"},
		{"symlink", func() []byte {
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if isBlob(h) {
					h.Typeflag, h.Linkname, b = tar.TypeSymlink, "/etc/passwd", nil
				}
				return h, b
			})
		}, "not a regular file"},
		{"manifest not last", func() []byte {
			var man []byte
			a := rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if h.Name == ManifestName {
					man = b
				}
				return h, b
			})
			var out bytes.Buffer
			out.Write(a[:len(a)-1024]) // drop the end-of-archive blocks
			tw := tar.NewWriter(&out)
			tw.WriteHeader(&tar.Header{Name: ManifestName, Size: int64(len(man)), Mode: 0o600, Typeflag: tar.TypeReg})
			tw.Write(man)
			tw.Close()
			return out.Bytes()
		}, "must be the last entry"},
		{"message count", func() []byte {
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if h.Name == ManifestName {
					var m Manifest
					json.Unmarshal(b, &m)
					m.Messages = 7
					b, _ = json.Marshal(m)
				}
				return h, b
			})
		}, "holds 2 messages, the manifest says 7"},
		{"inline count", func() []byte {
			// As an as4gw from before inline payloads reads a newer archive: all counted
			// payloads expected as files.
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if h.Name == ManifestName {
					var m Manifest
					json.Unmarshal(b, &m)
					m.InlinePayloads = 0
					b, _ = json.Marshal(m)
				}
				return h, b
			})
		}, "manifest counts 3 payloads, 0 of them inline, but lists 1 payload files"},
		{"database garbage", func() []byte {
			return rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
				if h.Name == DBFileName {
					b = bytes.Repeat([]byte{0x55}, 8192)
				}
				return h, b
			})
		}, "is damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "store")
			_, err := ReadBackup(bytes.NewReader(tt.archive()), dest)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dest), "etc")); err == nil {
				t.Fatal("wrote outside dest")
			}
		})
	}
}

// TestBackupWhileDeleting: a message deleted (and an orphan sweep run) after the
// snapshot but before its files are copied must not take the files from the backup.
func TestBackupWhileDeleting(t *testing.T) {
	s, _ := openTestWith(t, filesOnly)
	out, _ := fillStore(t, s)
	pr, pw := io.Pipe()
	type result struct {
		m   Manifest
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := s.Backup(bg, pw)
		pw.CloseWithError(err)
		done <- result{m, err}
	}()
	// The first header is written only after the snapshot; reading it proves the
	// snapshot holds the message while the copy has not started.
	head := make([]byte, 512)
	if _, err := io.ReadFull(pr, head); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(bg, out.Key, Deleted, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SweepOrphans(bg, 1); err != nil {
		t.Fatal(err)
	}
	blob := s.blobPath(out.Payloads[0].Blob)
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("payload removed while a backup runs: %v", err)
	}
	rest, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.m.PayloadFiles != 3 {
		t.Fatalf("backup has %d payload files, want the 3 of the snapshot", r.m.PayloadFiles)
	}
	if _, err := ReadBackup(io.MultiReader(bytes.NewReader(head), bytes.NewReader(rest)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("deferred removal did not happen after the backup: %v", err)
	}
}

func FuzzReadBackup(f *testing.F) {
	for _, mode := range payloadModes { // a payload inline in the database, and in a file
		s, err := OpenBolt(f.TempDir(), mode.opts)
		if err != nil {
			f.Fatal(err)
		}
		p, _ := s.PutPayload(bg, strings.NewReader("payload"))
		s.Submit(bg, outMsg("f@gw", "b", Payload{ID: "cid:p", MimeType: "text/plain", Size: p.Size, SHA256: p.SHA256, Blob: p.Ref}))
		var buf bytes.Buffer
		s.Backup(bg, &buf)
		s.Close()
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:1024])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadBackup(bytes.NewReader(data), "")
	})
}
