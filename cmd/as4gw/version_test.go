package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	tests := []struct {
		name      string
		linkedVer string
		want      string
	}{
		{"development build", "", "as4gw devel"},
		{"release build", "v1.2.3", "as4gw v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := version
			version = tt.linkedVer
			defer func() { version = old }()
			var out bytes.Buffer
			root := newRootCommand()
			root.SetOut(&out)
			root.SetArgs([]string{"version"})
			if err := root.Execute(); err != nil {
				t.Fatalf("version: %v", err)
			}
			first := strings.SplitN(out.String(), "\n", 2)[0]
			if first != tt.want {
				t.Errorf("first line = %q, want %q", first, tt.want)
			}
		})
	}
}

func TestVersionRejectsArguments(t *testing.T) {
	root := newRootCommand()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"version", "extra"})
	if err := root.Execute(); err == nil {
		t.Fatal("version with an argument succeeded; want a usage error")
	}
}
