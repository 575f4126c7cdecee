package backend

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

func (e *env) audit(token, query string) auditPage {
	e.t.Helper()
	w := e.do(http.MethodGet, apiPrefix+"/audit"+query, token, nil)
	if w.Code != 200 {
		e.t.Fatalf("audit%s: %d %s", query, w.Code, w.Body)
	}
	return decodeJSON[auditPage](e.t, w)
}

func auditKeys(p auditPage) []string {
	out := []string{}
	for _, r := range p.Records {
		out = append(out, r.MessageID+":"+r.Outcome)
	}
	return out
}

func TestAudit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	outA := e.submitted(nil) // A's outbound to B's participant: A's record only
	ms, _ := e.st.Find(ctx, store.Outbound, outA)
	claimed, err := e.st.ClaimDue(ctx, time.Now(), 1, time.Minute, nil)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	if _, err := e.st.MarkFailed(ctx, ms[0].Key, claimed[0].Lease.Token, store.Attempt{HTTPStatus: 502, Error: store.Problem{Code: "EBMS:0005", Detail: "bad gateway"}}); err != nil {
		t.Fatal(err)
	}
	inB := e.receive("for-b@p", peerAP, store.PartyID{ID: partB, Type: upis}, nil)
	e.receive("for-b-untyped@p", peerAP, store.PartyID{ID: partB}, nil)
	if _, err := e.st.MarkDownloaded(ctx, inB.Key); err != nil {
		t.Fatal(err)
	}
	e.receive("for-c@p", peerAP, store.PartyID{ID: partC, Type: upis}, nil)

	hour := time.Hour
	tests := []struct {
		name  string
		token string
		query string
		want  []string
	}{
		{"A sees its outbound only", tokenA, "", []string{outA + ":submitted", outA + ":sending", outA + ":failed"}},
		{"B sees its inbound, typed and untyped", tokenB, "", []string{"for-b@p:received", "for-b-untyped@p:received", "for-b@p:downloaded"}},
		{"B asks for A's message", tokenB, "?messageId=" + url.QueryEscape(outA), []string{}},
		{"A asks for B's conversation", tokenA, "?conversationId=conv-for-b%40p", []string{}},
		{"B by message", tokenB, "?messageId=for-b%40p", []string{"for-b@p:received", "for-b@p:downloaded"}},
		{"B by conversation", tokenB, "?conversationId=conv-for-b-untyped%40p", []string{"for-b-untyped@p:received"}},
		{"B names its participant", tokenB, "?participant=" + url.QueryEscape(partB), []string{"for-b@p:received", "for-b-untyped@p:received", "for-b@p:downloaded"}},
		{"from in the future", tokenA, "?from=" + url.QueryEscape(time.Now().Add(hour).Format(time.RFC3339)), []string{}},
		{"to in the past", tokenA, "?to=" + url.QueryEscape(time.Now().Add(-hour).Format(time.RFC3339)), []string{}},
		{"range around now", tokenA, "?from=" + url.QueryEscape(time.Now().Add(-hour).Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(time.Now().Add(hour).Format(time.RFC3339)),
			[]string{outA + ":submitted", outA + ":sending", outA + ":failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auditKeys(e.audit(tt.token, tt.query))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// The failure record carries the error and the participants; the inbound one the peer.
	page := e.audit(tokenA, "?messageId="+url.QueryEscape(outA))
	f := page.Records[2]
	if f.Error == nil || f.Error.Code != "EBMS:0005" || f.HTTPStatus != 502 || f.Status != store.SendFailure ||
		f.Participant != (store.PartyID{ID: partA, Type: upis}) || f.FinalRecipient != (store.PartyID{ID: partB, Type: upis}) {
		t.Errorf("failure record %+v", f)
	}
	if f.PeerAP == nil || f.PeerAP.PartyID != peerAP || f.PeerAP.Endpoint != peerURL {
		t.Errorf("failure record peer %+v", f.PeerAP)
	}
	r := e.audit(tokenB, "?messageId=for-b%40p").Records[0]
	if r.Signature == nil || r.Signature.ReceiptID != "receipt-for-b@p" || r.PeerAP == nil || r.PeerAP.PartyID != peerAP {
		t.Errorf("inbound record %+v", r)
	}
}

func TestAuditPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.receive(fmt.Sprintf("m%d@p", i), peerAP, store.PartyID{ID: partB, Type: upis}, nil)
		e.receive(fmt.Sprintf("a%d@p", i), peerAP, store.PartyID{ID: partA, Type: upis}, nil) // interleaved
	}
	var got []string
	after := uint64(0)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p := e.audit(tokenB, fmt.Sprintf("?limit=2&after=%d", after))
		if len(p.Records) > 2 {
			t.Fatalf("page of %d records with limit 2", len(p.Records))
		}
		got = append(got, auditKeys(p)...)
		if p.Next == 0 {
			break
		}
		after = p.Next
	}
	want := "[m0@p:received m1@p:received m2@p:received m3@p:received m4@p:received]"
	if fmt.Sprint(got) != want {
		t.Errorf("pages gave %v, want %s", got, want)
	}
}

func TestAuditBadParams(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, query string
		status      int
		slug, field string
	}{
		{"from not RFC 3339", "?from=yesterday", 400, "invalid-request", "from"},
		{"to not RFC 3339", "?to=2026-13-01T00:00:00Z", 400, "invalid-request", "to"},
		{"to before from", "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "invalid-request", "to"},
		{"empty range", "?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "invalid-request", "to"},
		{"messageId with control character", "?messageId=a%00b", 400, "invalid-request", "messageId"},
		{"conversationId not UTF-8", "?conversationId=%ff", 400, "invalid-request", "conversationId"},
		{"conversationId too long", "?conversationId=" + strings.Repeat("x", 1025), 400, "invalid-request", "conversationId"},
		{"after not a number", "?after=k12", 400, "invalid-request", "after"},
		{"limit too large", "?limit=1001", 400, "invalid-request", "limit"},
		{"participant malformed", "?participant=a%20b", 400, "invalid-request", "participant"},
		{"another client's participant", "?participant=" + url.QueryEscape(partB), 403, "forbidden", "participant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(http.MethodGet, apiPrefix+"/audit"+tt.query, tokenA, nil)
			expectProblem(t, w, tt.status, tt.slug, tt.field)
		})
	}
	w := e.do(http.MethodGet, apiPrefix+"/audit", "", nil)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", w.Code)
	}
}

// FuzzAuditQuery: whatever the query string, GET /audit answers 200 or a 400/403 problem
// naming the parameter, never a 500 (the store refuses nothing the handler let through).
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00.5%2B01:00",
		"messageId=a%40b&conversationId=c&after=7&limit=3", "participant=iso6523-actorid-upis::0203:malmo.se",
		"messageId=%ff", "to=0000-01-01T00:00:00Z", "from=9999-12-31T23:59:59Z", "after=-1", "participant=::x"} {
		f.Add(s)
	}
	e := newEnv(f)
	e.receive("m@p", peerAP, store.PartyID{ID: partA, Type: upis}, nil)
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, apiPrefix+"/audit", nil)
		r.URL.RawQuery = query
		r.Header.Set("Authorization", "Bearer "+tokenA)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			decodeJSON[auditPage](t, w)
			return
		}
		p := problemOf(t, w)
		if (w.Code != http.StatusBadRequest && w.Code != http.StatusForbidden) || p.Field == "" {
			t.Fatalf("query %q: %d %+v", query, w.Code, p)
		}
	})
}
