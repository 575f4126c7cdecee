package backend

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/as4gw/as4gw/store"
)

// eventView is one status change in GET /api/v1/events.
type eventView struct {
	Seq            uint64          `json:"seq"`
	Time           time.Time       `json:"time"`
	MessageID      string          `json:"messageId"`
	Direction      store.Direction `json:"direction"`
	PreviousStatus store.State     `json:"previousStatus,omitempty"`
	Status         store.State     `json:"status"`
	Reason         string          `json:"reason,omitempty"`
}

type eventsPage struct {
	Events []eventView `json:"events"`
	// Next is the after value of the next call: the last sequence number examined, which
	// may be past the last event returned (events of others are skipped).
	Next uint64 `json:"next"`
}

// handleEvents is GET /api/v1/events?after=SEQ&wait=SECONDS&limit=N: the status changes
// of the client's messages after SEQ, oldest first. With wait it long-polls: it answers
// as soon as there is at least one event, or with none when the wait is over.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, c *client) {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeProblem(w, r, invalid("after", "after is an event sequence number (the next of the previous answer, 0 for the start), not %q", v))
			return
		}
		after = n
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > MaxWait {
			writeProblem(w, r, invalid("wait", "wait is a whole number of seconds from 0 to %d, not %q", int(MaxWait/time.Second), v))
			return
		}
		wait = time.Duration(n) * time.Second
	}
	limit, p := parseLimit(q.Get("limit"), 100, 1000)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	ctx := r.Context()
	var expired <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}
	filter := store.EventFilter{Parties: c.scope.match}
	vis := map[store.Key]bool{}
	cursor := after
	for {
		changed := s.store.Changed() // before reading, so that no commit is missed
		evs, next, err := s.store.EventsAfter(ctx, cursor, limit, filter)
		if err != nil {
			if ctx.Err() != nil {
				return // the client left
			}
			writeProblem(w, r, s.storeProblem(r, "reading events", err))
			return
		}
		out, err := s.visibleEvents(ctx, c, evs, vis)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			writeProblem(w, r, s.storeProblem(r, "reading events", err))
			return
		}
		moved := next > cursor
		if moved {
			cursor = next
		}
		if len(out) > 0 {
			writeJSON(w, http.StatusOK, eventsPage{Events: out, Next: cursor})
			return
		}
		if moved { // the store skipped others' events: look further before waiting
			select {
			case <-ctx.Done():
				return
			default:
				continue
			}
		}
		if wait == 0 {
			writeJSON(w, http.StatusOK, eventsPage{Events: []eventView{}, Next: cursor})
			return
		}
		select {
		case <-changed:
		case <-expired:
			writeJSON(w, http.StatusOK, eventsPage{Events: []eventView{}, Next: cursor})
			return
		case <-s.closing:
			writeJSON(w, http.StatusOK, eventsPage{Events: []eventView{}, Next: cursor})
			return
		case <-ctx.Done():
			return
		}
	}
}

// visibleEvents keeps the events of messages the client may see. The store's party filter
// matches any role (an outbound message of another organisation to one of ours names our
// participant as finalRecipient), so each message is checked by the same rule as GET: by the
// viewer the event records, or, for events written before it did, by loading the message.
func (s *Server) visibleEvents(ctx context.Context, c *client, evs []store.Event, vis map[store.Key]bool) ([]eventView, error) {
	var out []eventView
	for _, e := range evs {
		ok, known := vis[e.Key]
		if !known && e.Viewer != nil {
			ok, known = c.scope.sees(*e.Viewer), true
		}
		if !known {
			m, err := s.store.Get(ctx, e.Key)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				ok = c.scope.visible(&m)
			}
			vis[e.Key] = ok
		}
		if ok {
			out = append(out, eventView{Seq: e.Seq, Time: e.Time, MessageID: e.MessageID, Direction: e.Direction,
				PreviousStatus: e.From, Status: e.To, Reason: e.Reason})
		}
	}
	return out, nil
}
