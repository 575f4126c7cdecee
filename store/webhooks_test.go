package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWebhookLifecycle(t *testing.T) {
	s, c := openTest(t)
	mustSubmit(t, s, outMsg("before-1", "gw-b"))
	seqBefore := s.LastEventSeq()

	a1, err := s.CreateWebhook(bg, Webhook{Client: "a", URL: "https://a.example/hook", Description: "one"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID == 0 || a1.Cursor != seqBefore || !a1.Created.Equal(c.Now()) {
		t.Fatalf("created %+v, want an id, cursor %d (events before registration are not delivered)", a1, seqBefore)
	}
	a2, err := s.CreateWebhook(bg, Webhook{Client: "a", URL: "https://a.example/2"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateWebhook(bg, Webhook{Client: "a", URL: "https://a.example/3"}, 2); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third webhook: %v, want ErrTooMany", err)
	}
	b1, err := s.CreateWebhook(bg, Webhook{Client: "b", URL: "https://b.example/"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Webhook{{URL: "https://x"}, {Client: "a"}, {Client: "a\x00", URL: "https://x"}} {
		if _, err := s.CreateWebhook(bg, bad, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: %v, want ErrInvalid", bad, err)
		}
	}

	list := func(client string) []uint64 {
		t.Helper()
		ws, err := s.Webhooks(bg, client)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for _, w := range ws {
			ids = append(ids, w.ID)
		}
		return ids
	}
	if got := list("a"); len(got) != 2 || got[0] != a1.ID || got[1] != a2.ID {
		t.Fatalf("client a: %v", got)
	}
	if got := list(""); len(got) != 3 {
		t.Fatalf("all: %v", got)
	}

	// A failure, then a success: failures count and reset, the cursor only moves on.
	c.Add(time.Second)
	next := c.Now().Add(2 * time.Second)
	w, err := s.RecordWebhook(bg, a1.ID, WebhookProgress{Attempt: c.Now(), Error: "HTTP 503 " + strings.Repeat("é", 400), NextAttempt: next})
	if err != nil {
		t.Fatal(err)
	}
	if w.Failures != 1 || !w.NextAttempt.Equal(next) || len(w.LastError) > maxWebhookError || !strings.HasPrefix(w.LastError, "HTTP 503") {
		t.Fatalf("after failure: %+v", w)
	}
	if _, err := s.RecordWebhook(bg, a1.ID, WebhookProgress{Attempt: c.Now(), Error: "again"}); err != nil {
		t.Fatal(err)
	}
	w, err = s.RecordWebhook(bg, a1.ID, WebhookProgress{Attempt: c.Now(), Delivered: true, Cursor: seqBefore + 5})
	if err != nil {
		t.Fatal(err)
	}
	if w.Failures != 0 || w.Cursor != seqBefore+5 || !w.LastDelivery.Equal(c.Now()) || !w.NextAttempt.IsZero() || w.LastError != "again" {
		t.Fatalf("after success: %+v", w)
	}
	if w, _ = s.RecordWebhook(bg, a1.ID, WebhookProgress{Cursor: 1}); w.Cursor != seqBefore+5 {
		t.Fatalf("cursor went back to %d", w.Cursor)
	}

	// Survives a restart.
	s = reopen(t, s, c)
	got, err := s.GetWebhook(bg, a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cursor != seqBefore+5 || got.URL != a1.URL || got.Description != "one" || got.Client != "a" {
		t.Fatalf("after reopen: %+v", got)
	}

	if err := s.DeleteWebhook(bg, b1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(bg, b1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.GetWebhook(bg, b1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.RecordWebhook(bg, b1.ID, WebhookProgress{Cursor: 9}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record on deleted: %v", err)
	}
	// Ids are never reused.
	b2, err := s.CreateWebhook(bg, Webhook{Client: "b", URL: "https://b.example/"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b2.ID <= b1.ID {
		t.Fatalf("id %d reused after %d", b2.ID, b1.ID)
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"},
		{"éé", 3, "é"},
	} {
		if got := truncateUTF8(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
