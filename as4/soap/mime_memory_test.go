package soap

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"strings"
	"testing"
)

// TestReadMessageMemoryBudget checks which attachments stay in memory: each
// up to memoryPartBytes, all together up to memoryMessageBytes, the rest in
// files; the content and digests are the same either way.
func TestReadMessageMemoryBudget(t *testing.T) {
	part, msg := memoryPartBytes, memoryMessageBytes
	t.Cleanup(func() { memoryPartBytes, memoryMessageBytes = part, msg })
	memoryPartBytes, memoryMessageBytes = 10, 15
	tests := []struct {
		name   string
		bodies []string
		inMem  []bool
	}{
		{"small part in memory", []string{"12345"}, []bool{true}},
		{"exactly the part limit", []string{"1234567890"}, []bool{true}},
		{"one over the part limit", []string{"12345678901"}, []bool{false}},
		{"budget spent, later parts to files", []string{"1234567890", "12345", "1"}, []bool{true, true, false}},
		{"a large part does not spend the budget", []string{"123456789012", "1234567890"}, []bool{false, true}},
		{"empty part", []string{""}, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spool := t.TempDir()
			parts := []mimePart{rootPart()}
			for i, b := range tt.bodies {
				parts = append(parts, mimePart{[]string{"Content-ID: <p" + string(rune('a'+i)) + ">"}, b})
			}
			m, err := ReadMessage(strings.NewReader(buildMIME("\r\n", parts...)), multipartCT(""), DefaultLimits(), spool)
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range m.Attachments {
				_, inMem := a.Bytes()
				if inMem != tt.inMem[i] || (a.Path() == "") != inMem {
					t.Errorf("part %d: in memory %v (path %q), want %v", i, inMem, a.Path(), tt.inMem[i])
				}
				rc, _ := a.Open()
				got, _ := io.ReadAll(rc)
				rc.Close()
				if string(got) != tt.bodies[i] || a.Size != int64(len(got)) || a.SHA256 != sha256.Sum256(got) {
					t.Errorf("part %d: content %q size %d, want %q", i, got, a.Size, tt.bodies[i])
				}
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(spool); len(left) != 0 {
				t.Errorf("spool files left: %d", len(left))
			}
		})
	}
}

func TestAttachmentSetBytes(t *testing.T) {
	part, msg := memoryPartBytes, memoryMessageBytes
	t.Cleanup(func() { memoryPartBytes, memoryMessageBytes = part, msg })
	memoryPartBytes, memoryMessageBytes = 0, 0
	spool := t.TempDir()
	m, err := ReadMessage(strings.NewReader(buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "ciphertext"})), multipartCT(""), DefaultLimits(), spool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := m.Attachments[0]
	path := a.Path()
	plain := []byte("plain")
	if err := a.SetBytes(plain, sha256.Sum256(plain)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("spool file still there: %v", err)
	}
	rc, _ := a.Open()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, plain) || a.Size != 5 || a.Path() != "" {
		t.Errorf("after SetBytes: %q size %d path %q", got, a.Size, a.Path())
	}
}
