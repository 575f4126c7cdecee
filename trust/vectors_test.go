package trust

import (
	"os"
	"path/filepath"
	"testing"
)

// vectorsDir finds ../shared/vectors beside the module root (the directory
// holding go.mod). The interop vectors are read in place and never copied
// into the repository; tests that need them skip when they are absent.
func vectorsDir(t *testing.T) string {
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
			t.Skip("interop vectors not available: no go.mod found above the test directory")
		}
		dir = parent
	}
	v := filepath.Join(dir, "..", "shared", "vectors")
	if _, err := os.Stat(filepath.Join(v, "MANIFEST.md")); err != nil {
		t.Skipf("interop vectors not available at %s (expected ../shared/vectors beside the module root)", v)
	}
	return v
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
