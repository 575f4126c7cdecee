package pmode

import (
	"strings"
	"testing"
	"time"
)

func TestParseRetry(t *testing.T) {
	tests := []struct {
		in   string
		want RetryPolicy
		str  string
	}{
		{"12;4;CONSTANT", RetryPolicy{Strategy: RetryConstant, Timeout: 12, Count: 4}, "12;4;CONSTANT"},
		{" 12 ; 4 ; constant ", RetryPolicy{Strategy: RetryConstant, Timeout: 12, Count: 4}, "12;4;CONSTANT"},
		{"1;60;CONSTANT", RetryPolicy{Strategy: RetryConstant, Timeout: 1, Count: 60}, "1;60;CONSTANT"},
		{"SEND_ONCE", RetryPolicy{Strategy: RetrySendOnce}, "SEND_ONCE"},
		{"0;0;SEND_ONCE", RetryPolicy{Strategy: RetrySendOnce}, "SEND_ONCE"},
		{"5;2;SEND_ONCE", RetryPolicy{Strategy: RetrySendOnce, Timeout: 5, Count: 2}, "5;2;SEND_ONCE"},
		{"9;1;2;PROGRESSIVE", RetryPolicy{Strategy: RetryProgressive, Timeout: 9, Initial: 1, Factor: 2}, "9;1;2;PROGRESSIVE"},
		{"100;2;3;progressive", RetryPolicy{Strategy: RetryProgressive, Timeout: 100, Initial: 2, Factor: 3}, "100;2;3;PROGRESSIVE"},
	}
	for _, tc := range tests {
		got, err := ParseRetry(tc.in)
		if err != nil {
			t.Errorf("ParseRetry(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseRetry(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("ParseRetry(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		again, err := ParseRetry(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", tc.in, again, err)
		}
	}
}

func TestParseRetryErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `unknown strategy ""`},
		{"12;4", `unknown strategy "4"`},
		{"12;4;SOMETIMES", `unknown strategy "SOMETIMES"`},
		{"12;4;3;CONSTANT", "CONSTANT does not take 3 numbers"},
		{"12;4;PROGRESSIVE", "PROGRESSIVE does not take 2 numbers"},
		{"4;SEND_ONCE", "SEND_ONCE does not take 1 numbers"},
		{"1.5;1;CONSTANT", `"1.5" is not a whole number`},
		{"-2;1;CONSTANT", `"-2" is not a whole number`},
		{"12;0;CONSTANT", "count 0 must be 1..60000 retries"},
		{"0;4;CONSTANT", "timeout 0 must be 1..52560000 minutes"},
		{"1;61;CONSTANT", "61 retries in 1 minutes are less than a second apart"},
		// Domibus's own validation cases (ReceptionAwarenessProgressiveTest).
		{"1;2;2;PROGRESSIVE", "initial 2 must be 1..timeout (1) minutes"},
		{"10;0;2;PROGRESSIVE", "initial 0 must be 1..timeout (10) minutes"},
		{"10;1;1;PROGRESSIVE", "factor 1 must be greater than 1"},
		{"100;400;3;PROGRESSIVE", "initial 400 must be 1..timeout (100) minutes"},
	}
	for _, tc := range tests {
		_, err := ParseRetry(tc.in)
		if err == nil {
			t.Errorf("ParseRetry(%q) succeeded, want error containing %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "formats: TIMEOUT;COUNT;CONSTANT") {
			t.Errorf("ParseRetry(%q) = %q, want it to contain %q and the formats", tc.in, err, tc.want)
		}
	}
}

func mins(ms ...float64) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m * float64(time.Minute))
	}
	return out
}

func TestRetrySchedules(t *testing.T) {
	tests := []struct {
		policy string
		want   []time.Duration
	}{
		// 12;4 retries every 3 minutes from the first attempt: 5 attempts in all.
		{"12;4;CONSTANT", mins(3, 6, 9, 12)},
		{"10;3;CONSTANT", []time.Duration{200 * time.Second, 400 * time.Second, 600 * time.Second}},
		// Domibus divides in milliseconds: 60000/7 = 8571 ms.
		{"1;7;CONSTANT", []time.Duration{8571 * time.Millisecond, 17142 * time.Millisecond, 25713 * time.Millisecond,
			34284 * time.Millisecond, 42855 * time.Millisecond, 51426 * time.Millisecond, 59997 * time.Millisecond}},
		{"SEND_ONCE", nil},
		{"12;4;SEND_ONCE", nil},
		// Domibus's progressive lists (ReceptionAwarenessProgressiveTest).
		{"9;1;2;PROGRESSIVE", mins(1, 2, 4, 8)},
		{"8;1;2;PROGRESSIVE", mins(1, 2, 4, 8)},
		{"100;1;3;PROGRESSIVE", mins(1, 3, 9, 27, 81)},
		{"100;2;3;PROGRESSIVE", mins(2, 6, 18, 54)},
		{"100;20;3;PROGRESSIVE", mins(20, 60)},
		{"100;3;2;PROGRESSIVE", mins(3, 6, 12, 24, 48, 96)},
		{"2;1;2;PROGRESSIVE", mins(1, 2)},
		{"1;1;2;PROGRESSIVE", mins(1)},
		{"10000000;1;10;PROGRESSIVE", mins(1, 10, 100, 1000, 10000, 100000, 1000000, 10000000)},
		{"52560000;1;9223372036854775807;PROGRESSIVE", mins(1)},
	}
	first := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		r, err := ParseRetry(tc.policy)
		if err != nil {
			t.Fatalf("ParseRetry(%q): %v", tc.policy, err)
		}
		got := r.Offsets()
		if len(got) != len(tc.want) || r.Retries() != len(tc.want) {
			t.Errorf("%s: offsets %v (retries %d), want %v", tc.policy, got, r.Retries(), tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: retry %d due at +%v, want +%v", tc.policy, i+1, got[i], tc.want[i])
			}
		}
		if due, ok := r.NextAttempt(first, 0); !ok || !due.Equal(first) {
			t.Errorf("%s: NextAttempt(first, 0) = %v, %v; want the first attempt itself", tc.policy, due, ok)
		}
		for n := 1; n <= len(tc.want); n++ {
			due, ok := r.NextAttempt(first, n)
			if !ok || !due.Equal(first.Add(tc.want[n-1])) {
				t.Errorf("%s: NextAttempt(first, %d) = %v, %v; want %v", tc.policy, n, due, ok, first.Add(tc.want[n-1]))
			}
		}
		if due, ok := r.NextAttempt(first, len(tc.want)+1); ok {
			t.Errorf("%s: NextAttempt after %d attempts = %v, want spent", tc.policy, len(tc.want)+1, due)
		}
	}
}

func TestRetryPolicyZeroAndMap(t *testing.T) {
	var zero RetryPolicy
	if zero.String() != "SEND_ONCE" || zero.Validate() != nil {
		t.Errorf("zero policy: %q, %v", zero.String(), zero.Validate())
	}
	if _, ok := zero.NextAttempt(time.Now(), 1); ok {
		t.Error("zero policy retries")
	}
	// As decoded from a YAML map, strategy in any case.
	m := RetryPolicy{Strategy: "constant", Timeout: 12, Count: 4}
	if err := m.Validate(); err != nil || m.Retries() != 4 || m.String() != "12;4;CONSTANT" {
		t.Errorf("map-decoded policy: %v, %d retries, %q", err, m.Retries(), m.String())
	}
	bad := []struct {
		r    RetryPolicy
		want string
	}{
		{RetryPolicy{Strategy: "WHENEVER"}, `unknown strategy "WHENEVER"`},
		{RetryPolicy{Strategy: RetryConstant, Timeout: 12, Count: 4, Factor: 2}, "CONSTANT takes timeout and count"},
		{RetryPolicy{Strategy: RetryProgressive, Timeout: 12, Count: 4, Initial: 1, Factor: 2}, "PROGRESSIVE takes timeout, initial and factor"},
		{RetryPolicy{Strategy: RetrySendOnce, Initial: 1}, "SEND_ONCE takes no initial/factor"},
	}
	for _, tc := range bad {
		err := tc.r.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Validate() = %v, want %q", tc.r, err, tc.want)
		}
		if tc.r.Retries() != 0 {
			t.Errorf("invalid %+v retries %d times", tc.r, tc.r.Retries())
		}
	}
}

func TestRetryPolicyText(t *testing.T) {
	var r RetryPolicy
	if err := r.UnmarshalText([]byte("12;4;CONSTANT")); err != nil {
		t.Fatal(err)
	}
	text, err := r.MarshalText()
	if err != nil || string(text) != "12;4;CONSTANT" {
		t.Errorf("MarshalText = %q, %v", text, err)
	}
	if err := r.UnmarshalText([]byte("12;4")); err == nil {
		t.Error("UnmarshalText accepted 12;4")
	}
	if r.String() != "12;4;CONSTANT" {
		t.Errorf("a failed UnmarshalText changed the policy to %q", r.String())
	}
}
