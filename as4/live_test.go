package as4

import (
	"testing"

	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/trust"
)

// TestCurrentSnapshot: a message's view of the gateway is taken once; a later Store does
// not change it, and a gateway without Live uses its fields.
func TestCurrentSnapshot(t *testing.T) {
	oldSet, newSet := &pmode.Set{Name: "old"}, &pmode.Set{Name: "new"}
	oldTrust, newTrust := trust.NewStore(), trust.NewStore()
	tests := []struct {
		name      string
		live      *Live
		wantPM    *pmode.Set
		wantTrust *trust.Store
	}{
		{"fixed", nil, oldSet, oldTrust},
		{"live", NewLive(LiveConfig{PModes: newSet, Trust: newTrust}), newSet, newTrust},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Gateway{PModes: oldSet, Trust: oldTrust, Workers: 3, Live: tt.live}
			c := g.current()
			if c.PModes != tt.wantPM || c.Trust != tt.wantTrust || c.Workers != 3 {
				t.Fatalf("current: %s %p %d", c.PModes.Name, c.Trust, c.Workers)
			}
			if tt.live == nil {
				return
			}
			tt.live.Store(LiveConfig{PModes: &pmode.Set{Name: "later"}, Trust: trust.NewStore()})
			if c.PModes != newSet || c.Trust != newTrust {
				t.Fatal("a reload changed a snapshot already taken")
			}
			if g.current().PModes.Name != "later" {
				t.Fatal("the next snapshot does not see the reload")
			}
		})
	}
}
