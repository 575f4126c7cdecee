package soap

import (
	"reflect"
	"strings"
	"testing"
)

func TestDefaultLimitsAreSetAndCarry100MB(t *testing.T) {
	d := DefaultLimits()
	v := reflect.ValueOf(d)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Int() <= 0 {
			t.Errorf("default %s is %d", v.Type().Field(i).Name, v.Field(i).Int())
		}
	}
	const sdkMinimum = 100_000_000 // SDK: at least 100 MB per message
	if d.MaxMessageBytes < sdkMinimum*4/3+1<<20 || d.MaxAttachmentBytes < sdkMinimum*4/3 {
		t.Error("defaults cannot carry a base64-encoded 100 MB payload")
	}
}

func TestWithDefaultsFillsOnlyZeroFields(t *testing.T) {
	got := Limits{MaxParts: 7, MaxXMLDepth: -1}.WithDefaults()
	want := DefaultLimits()
	want.MaxParts = 7
	want.MaxXMLDepth = -1
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestValidateNamesEveryNegativeField(t *testing.T) {
	var l Limits
	v := reflect.ValueOf(&l).Elem()
	for i := 0; i < v.NumField(); i++ {
		v.Field(i).SetInt(-1)
	}
	err := l.Validate()
	if err == nil {
		t.Fatal("negative limits accepted")
	}
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Name; !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s", name)
		}
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatalf("zero limits (= defaults) rejected: %v", err)
	}
}

func TestLimitErrorMessageNamesTheKey(t *testing.T) {
	err := limitErr("MaxParts", 100)
	if !strings.Contains(err.Error(), "MaxParts") || !strings.Contains(err.Error(), "100") {
		t.Fatal(err)
	}
}

func TestCapReader(t *testing.T) {
	tests := []struct {
		in      string
		max     int64
		want    string
		wantErr bool
	}{
		{"abc", 3, "abc", false},
		{"abcd", 3, "abc", true},
		{"", 0, "", false},
		{"a", 0, "", true},
	}
	for _, tc := range tests {
		c := newCapReader(&oneByteReader{strings.NewReader(tc.in)}, tc.max, "MaxX")
		var got []byte
		buf := make([]byte, 2)
		var err error
		for {
			var n int
			n, err = c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if string(got) != tc.want {
			t.Errorf("%q/%d: got %q", tc.in, tc.max, got)
		}
		if tc.wantErr {
			wantLimit(t, err, "MaxX")
		} else if err.Error() != "EOF" {
			t.Errorf("%q/%d: %v", tc.in, tc.max, err)
		}
	}
}
