package soap

import (
	"errors"
	"github.com/as4gw/as4gw/internal/testutil"
	"os"
	"path/filepath"
	"testing"
)

// vectorsDir is ../shared/vectors, read in place (see internal/testutil: it
// skips where the folder is absent, and fails in CI).
func vectorsDir(t testing.TB) string {
	t.Helper()
	return testutil.VectorsDir(t)
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
