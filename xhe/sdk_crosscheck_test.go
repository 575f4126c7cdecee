package xhe_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/xhe"
)

// The XHE profile values here and the SDK P-Mode preset must agree, so that a message
// Derive builds matches an SDK leg. (External test package: xhe itself does not import
// pmode.)
func TestValuesAgreeWithSDKPMode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tf07-minimal.xml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := xhe.Parse(bytes.NewReader(data), xhe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.Derive()
	if err != nil {
		t.Fatal(err)
	}
	if h.Action != pmode.SDKActionMessage {
		t.Errorf("derived action %q, SDK leg action %q", h.Action, pmode.SDKActionMessage)
	}
	if h.Service != (ebms.Service{Value: pmode.SDKService, Type: pmode.SDKServiceType}) {
		t.Errorf("derived service %+v, SDK service %s/%s", h.Service, pmode.SDKService, pmode.SDKServiceType)
	}
	if xhe.ProcessIDScheme != pmode.SDKServiceType || xhe.ParticipantScheme != pmode.SDKParticipantScheme {
		t.Error("scheme constants differ from the P-Mode preset")
	}
	for _, action := range []string{pmode.SDKActionMessage, pmode.SDKActionBusinessReceipt} {
		if len(action) < len(xhe.DocumentIDScheme)+2 || action[:len(xhe.DocumentIDScheme)+2] != xhe.DocumentIDScheme+"::" ||
			action[len(action)-len(xhe.TransportModelSuffix):] != xhe.TransportModelSuffix {
			t.Errorf("SDK action %q is not %s::<document id ending in %s>", action, xhe.DocumentIDScheme, xhe.TransportModelSuffix)
		}
	}
}
