// Package testutil holds helpers shared by the project's tests: where the interop
// vectors live, and how a test that needs an outside tool skips (or, in CI, fails).
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	rootDir  string
)

// RepoRoot returns the directory holding go.mod, found by walking up from the
// test's working directory (go test runs each package in its own directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if rootDir == "" {
		t.Fatal("cannot find the repository root (no go.mod above the working directory)")
	}
	return rootDir
}

// VectorsDir returns ../shared/vectors beside the repository, the interop corpus
// that tests read in place. It skips the test when the folder is absent, unless
// AS4GW_REQUIRE_VECTORS is set (CI), where absence is a failure.
func VectorsDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "..", "shared", "vectors")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		if os.Getenv("AS4GW_REQUIRE_VECTORS") != "" {
			t.Fatalf("interop vectors not found at %s (AS4GW_REQUIRE_VECTORS is set)", dir)
		}
		t.Skipf("interop vectors not found at %s: place the shared/ folder beside the repository to run this test", dir)
	}
	return dir
}

// Vector returns the path of one vector file, relative to the vectors folder.
func Vector(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(VectorsDir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("vector %s: %v", rel, err)
	}
	return p
}

// RequireTool returns the path of an outside program (xmlsec1, openssl, promtool,
// java, ...). Where it is missing the test skips with the Debian package to
// install, unless AS4GW_REQUIRE_TOOLS is set (CI), where it fails instead so that
// a cross-check can never silently stop running.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		MissingTool(t, name+" not found on PATH; install the Debian package "+debianPackage)
	}
	return p
}

// MissingTool skips (or in CI fails) a test whose outside tool is unavailable for
// the given reason.
func MissingTool(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("AS4GW_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s (AS4GW_REQUIRE_TOOLS is set)", reason)
	}
	t.Skip(reason)
}
