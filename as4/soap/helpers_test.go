package soap

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// vectorsDir returns ../shared/vectors next to the repository root (found
// by walking up to go.mod), or skips the test when it is absent. The
// vectors are read in place and never copied into the repository.
func vectorsDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("interop vectors not available: no go.mod above the test directory")
		}
		dir = parent
	}
	vectors := filepath.Join(dir, "..", "shared", "vectors")
	if st, err := os.Stat(vectors); err != nil || !st.IsDir() {
		t.Skipf("interop vectors not available: %s is absent (they live outside the repository)", vectors)
	}
	return vectors
}

// readVector reads one vector file relative to the vectors folder.
func readVector(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorsDir(t), rel))
	if err != nil {
		t.Fatalf("vector %s: %v", rel, err)
	}
	return data
}

func wantLimit(t testing.TB, err error, limit string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("got error %v, want *LimitError{%s}", err, limit)
	}
	if le.Limit != limit {
		t.Fatalf("got limit %s (%v), want %s", le.Limit, err, limit)
	}
}

// assertDirEmpty checks that no spooled file was left behind.
func assertDirEmpty(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("spool directory not empty: %v", names)
	}
}
