package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(`{"ready":true}`))
	}))
	defer srv.Close()
	run := func(args ...string) int {
		root := newRootCommand()
		root.SetOut(&bytes.Buffer{})
		root.SetArgs(append([]string{"healthcheck"}, args...))
		err := root.Execute()
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		}
		return 1
	}
	if code := run("--url", srv.URL); code != 0 {
		t.Errorf("ready gateway: exit %d", code)
	}
	ready = false
	if code := run("--url", srv.URL); code != 1 {
		t.Errorf("unready gateway: exit %d, want 1", code)
	}
	if code := run("--url", "http://127.0.0.1:1/readyz"); code != 1 {
		t.Errorf("no gateway: exit %d, want 1", code)
	}
	if code := run("extra"); code != 2 {
		t.Errorf("usage error: exit %d, want 2", code)
	}
}
