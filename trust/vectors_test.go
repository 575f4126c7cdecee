package trust

import (
	"github.com/as4gw/as4gw/internal/testutil"
	"os"
	"path/filepath"
	"testing"
)

// vectorsDir is ../shared/vectors, read in place (see internal/testutil: it
// skips where the folder is absent, and fails in CI).
func vectorsDir(t *testing.T) string {
	t.Helper()
	return testutil.VectorsDir(t)
}

// readVector reads a file below the vectors directory, skipping the test if
// that file is missing.
func readVector(t *testing.T, rel string) []byte {
	t.Helper()
	p := filepath.Join(vectorsDir(t), filepath.FromSlash(rel))
	data, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		t.Skipf("interop vector %s not available", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}
