package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestSetGCDefault(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	tests := []struct {
		name, gogc string
		unset      bool
		want       int
	}{
		{name: "unset", unset: true, want: defaultGCPercent},
		{name: "operator's value wins", gogc: "150", want: 100}, // left as the runtime read it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unset {
				t.Setenv("GOGC", "")
				unsetEnv(t, "GOGC")
			} else {
				t.Setenv("GOGC", tt.gogc)
			}
			debug.SetGCPercent(100)
			setGCDefault()
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC percent %d, want %d", got, tt.want)
			}
		})
	}
}

// unsetEnv removes key for the test; t.Setenv first, so that it is restored afterwards.
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
