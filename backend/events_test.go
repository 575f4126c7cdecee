package backend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

func (e *env) events(token, query string) eventsPage {
	e.t.Helper()
	w := e.do(http.MethodGet, apiPrefix+"/events"+query, token, nil)
	if w.Code != 200 {
		e.t.Fatalf("events%s: %d %s", query, w.Code, w.Body)
	}
	return decodeJSON[eventsPage](e.t, w)
}

// viewerStore counts message loads and can drop the viewer from events, as in events
// written before the store recorded it.
type viewerStore struct {
	*store.BoltStore
	dropViewer bool
	gets       int
}

func (s *viewerStore) Get(ctx context.Context, k store.Key) (store.Message, error) {
	s.gets++
	return s.BoltStore.Get(ctx, k)
}

func (s *viewerStore) EventsAfter(ctx context.Context, after uint64, limit int, f store.EventFilter) ([]store.Event, uint64, error) {
	evs, next, err := s.BoltStore.EventsAfter(ctx, after, limit, f)
	if s.dropViewer {
		for i := range evs {
			evs[i].Viewer = nil
		}
	}
	return evs, next, err
}

// TestEvents runs on events that record their viewer (no message is loaded) and on older
// ones without it (each message is loaded once): both must show the same events.
func TestEvents(t *testing.T) {
	for _, dropViewer := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropViewer=%v", dropViewer), func(t *testing.T) {
			vs := &viewerStore{dropViewer: dropViewer}
			e := newEnv(t, func(c *Config) { vs.BoltStore = c.Store.(*store.BoltStore); c.Store = vs })
			testEvents(t, e)
			if dropViewer == (vs.gets == 0) {
				t.Errorf("%d message loads for the event feed (viewer dropped: %v)", vs.gets, dropViewer)
			}
		})
	}
}

func testEvents(t *testing.T, e *env) {
	ctx := context.Background()
	outA := e.submitted(nil) // A's outbound, finalRecipient is B's participant
	inB := e.receive("for-b@p", peerAP, store.PartyID{ID: partB, Type: upis}, nil)
	inA := e.receive("for-a@p", peerAP, store.PartyID{ID: partA}, nil) // untyped: A's too
	if _, err := e.st.MarkDownloaded(ctx, inB.Key); err != nil {
		t.Fatal(err)
	}
	ms, _ := e.st.Find(ctx, store.Outbound, outA)
	if _, err := e.st.Transition(ctx, ms[0].Key, store.SendFailure, "given up"); err != nil {
		t.Fatal(err)
	}

	a := e.events(tokenA, "")
	got := ""
	for _, ev := range a.Events {
		got += fmt.Sprintf("%s:%s>%s ", ev.MessageID, ev.PreviousStatus, ev.Status)
		if ev.Seq == 0 || ev.Time.IsZero() || ev.Direction == "" {
			t.Errorf("event %+v", ev)
		}
	}
	want := fmt.Sprintf("%s:>SEND_ENQUEUED %s:>RECEIVED %s:SEND_ENQUEUED>SEND_FAILURE ", outA, inA.ID, outA)
	if got != want {
		t.Errorf("A's events\n%s\nwant\n%s", got, want)
	}
	// B is the finalRecipient of A's outbound message, but sees only its own inbound one.
	b := e.events(tokenB, "")
	got = ""
	for _, ev := range b.Events {
		got += fmt.Sprintf("%s:%s>%s ", ev.MessageID, ev.PreviousStatus, ev.Status)
	}
	if want := "for-b@p:>RECEIVED for-b@p:RECEIVED>DOWNLOADED "; got != want {
		t.Errorf("B's events %q, want %q", got, want)
	}
	if b.Next != a.Next || a.Next != e.st.LastEventSeq() {
		t.Errorf("next A %d, B %d, last %d", a.Next, b.Next, e.st.LastEventSeq())
	}
	// Paging.
	p1 := e.events(tokenA, "?limit=1")
	if len(p1.Events) != 1 || p1.Events[0].MessageID != outA {
		t.Fatalf("page 1 %+v", p1)
	}
	p2 := e.events(tokenA, fmt.Sprintf("?limit=2&after=%d", p1.Next))
	if len(p2.Events) != 2 || p2.Events[0].MessageID != inA.ID || p2.Events[1].Status != store.SendFailure {
		t.Fatalf("page 2 %+v", p2)
	}
	if p3 := e.events(tokenA, fmt.Sprintf("?after=%d", p2.Next)); len(p3.Events) != 0 || p3.Next < p2.Next {
		t.Errorf("page 3 %+v", p3)
	}
	// Bad parameters.
	for _, c := range []struct{ query, field string }{
		{"?after=-1", "after"}, {"?after=x", "after"},
		{"?wait=61", "wait"}, {"?wait=-1", "wait"}, {"?wait=1.5", "wait"},
		{"?limit=0", "limit"},
	} {
		expectProblem(t, e.do(http.MethodGet, apiPrefix+"/events"+c.query, tokenA, nil), 400, "invalid-request", c.field)
	}
}

// stingyStore examines one event per EventsAfter call, as the bolt store does past its
// scan bound: calls return no events and a cursor further on.
type stingyStore struct {
	*store.BoltStore
	calls int
}

func (s *stingyStore) EventsAfter(ctx context.Context, after uint64, limit int, f store.EventFilter) ([]store.Event, uint64, error) {
	s.calls++
	evs, next, err := s.BoltStore.EventsAfter(ctx, after, 1, store.EventFilter{})
	var out []store.Event
	for _, e := range evs {
		for _, p := range e.Parties {
			if slices.Contains(f.Parties, p) {
				out = append(out, e)
				break
			}
		}
	}
	return out, next, err
}

// TestEventsSkipOthers: a long log of other organisations' events is passed over within
// one call, without waiting.
func TestEventsSkipOthers(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 30; i++ {
		e.receive(fmt.Sprintf("b-%d@p", i), peerAP, store.PartyID{ID: partB, Type: upis}, nil)
	}
	in := e.receive("a@p", peerAP, store.PartyID{ID: partA, Type: upis}, nil)
	stingy := &stingyStore{BoltStore: e.st}
	srv, err := New(Config{Store: stingy, PModes: testPModes(t), Clients: []Client{{Name: clientA, TokenSHA256: hashOf(tokenA), Participants: []store.PartyID{{ID: partA}}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, apiPrefix+"/events?wait=10", nil)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	w := httptest.NewRecorder()
	t0 := time.Now()
	srv.ServeHTTP(w, r)
	page := decodeJSON[eventsPage](t, w)
	if len(page.Events) != 1 || page.Events[0].MessageID != in.ID || page.Next != e.st.LastEventSeq() {
		t.Errorf("%+v", page)
	}
	if stingy.calls < 31 || time.Since(t0) > 5*time.Second {
		t.Errorf("%d calls, %v", stingy.calls, time.Since(t0))
	}
}

func TestEventsLongPoll(t *testing.T) {
	e := newEnv(t)
	start := e.events(tokenA, "").Next

	t.Run("returns when an event arrives", func(t *testing.T) {
		type result struct {
			page eventsPage
			took time.Duration
		}
		done := make(chan result, 1)
		go func() {
			t0 := time.Now()
			r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("%s/events?wait=20&after=%d", apiPrefix, start), nil)
			r.Header.Set("Authorization", "Bearer "+tokenA)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			var p eventsPage
			if w.Code == 200 {
				p = decodeJSON[eventsPage](t, w)
			}
			done <- result{p, time.Since(t0)}
		}()
		time.Sleep(200 * time.Millisecond)
		// Another organisation's event must not end A's wait...
		e.receive("not-for-a@p", peerAP, store.PartyID{ID: partB, Type: upis}, nil)
		select {
		case r := <-done:
			t.Fatalf("returned on B's event: %+v", r.page)
		case <-time.After(300 * time.Millisecond):
		}
		// ...A's does, promptly.
		in := e.receive("for-a@p", peerAP, store.PartyID{ID: partA, Type: upis}, nil)
		select {
		case r := <-done:
			if len(r.page.Events) != 1 || r.page.Events[0].MessageID != in.ID {
				t.Fatalf("page %+v", r.page)
			}
			if r.took > 5*time.Second {
				t.Errorf("took %v", r.took)
			}
			start = r.page.Next
		case <-time.After(5 * time.Second):
			t.Fatal("long poll did not return after A's event")
		}
	})

	t.Run("times out cleanly", func(t *testing.T) {
		e.receive("noise@p", peerAP, store.PartyID{ID: partB, Type: upis}, nil)
		t0 := time.Now()
		page := e.events(tokenA, fmt.Sprintf("?wait=1&after=%d", start))
		took := time.Since(t0)
		if len(page.Events) != 0 || took < time.Second || took > 4*time.Second {
			t.Errorf("page %+v after %v", page, took)
		}
		if page.Next <= start { // B's event was passed over
			t.Errorf("next %d did not move past %d", page.Next, start)
		}
	})

	t.Run("wait=0 answers at once", func(t *testing.T) {
		t0 := time.Now()
		page := e.events(tokenA, fmt.Sprintf("?wait=0&after=%d", e.st.LastEventSeq()))
		if len(page.Events) != 0 || time.Since(t0) > time.Second {
			t.Errorf("%+v", page)
		}
	})

	t.Run("ends when the client goes", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/events?wait=30&after=%d", apiPrefix, e.st.LastEventSeq()), nil)
		r.Header.Set("Authorization", "Bearer "+tokenA)
		done := make(chan struct{})
		go func() { e.srv.ServeHTTP(httptest.NewRecorder(), r); close(done) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatal("long poll ignored the cancelled request")
		}
	})

	t.Run("ends on Close", func(t *testing.T) {
		done := make(chan eventsPage, 1)
		go func() { done <- e.events(tokenA, fmt.Sprintf("?wait=30&after=%d", e.st.LastEventSeq())) }()
		time.Sleep(100 * time.Millisecond)
		e.srv.Close()
		select {
		case p := <-done:
			if len(p.Events) != 0 {
				t.Errorf("%+v", p)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("long poll ignored Close")
		}
	})
}
