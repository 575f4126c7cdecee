package pmode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RetryStrategy names a Domibus retry strategy.
type RetryStrategy string

// The strategies of Domibus's receptionAwareness retry attribute.
const (
	RetrySendOnce    RetryStrategy = "SEND_ONCE"
	RetryConstant    RetryStrategy = "CONSTANT"
	RetryProgressive RetryStrategy = "PROGRESSIVE"
)

// Limits on retry values. maxRetryCount is Domibus's own cap (it clamps the
// attempt count to 60000); the timeout cap keeps every due time inside
// time.Duration's range with a wide margin.
const (
	maxRetryCount   = 60000
	maxRetryTimeout = 100 * 365 * 24 * 60 // minutes: 100 years
)

// RetryPolicy is a leg's send retry policy in Domibus's terms (receptionAwareness
// retry="..."). All values are minutes. Domibus's semantics, read from its
// source (RetryStrategy, ReceptionAwareness and UpdateRetryLoggingService,
// Domibus 4.x-5.1), and what as4gw implements:
//
// "TIMEOUT;COUNT;CONSTANT": COUNT retries after the first attempt (Domibus's
// sendAttemptsMax is retryCount+1), due on a fixed grid of TIMEOUT/COUNT
// measured from the first attempt, not from the previous one: 12;4;CONSTANT
// sends at 0 and retries at 3, 6, 9 and 12 minutes, five attempts in all.
// Domibus computes the interval in milliseconds with integer division; so do we.
//
// "TIMEOUT;INITIAL;FACTOR;PROGRESSIVE" (Domibus 5.1): the retry trigger times,
// again measured from the first attempt, are INITIAL, INITIAL*FACTOR,
// INITIAL*FACTOR^2, ... while they do not exceed TIMEOUT: 9;1;2;PROGRESSIVE
// retries at 1, 2, 4 and 8 minutes. INITIAL must be 1..TIMEOUT and FACTOR an
// integer above 1 (Domibus rejects the others). Deviation: Domibus sets
// retryCount to the list length minus one, so with its attempt counter the last
// trigger time (8 above) is never used; as4gw uses every listed time, which is
// what Domibus documents and tests as the schedule.
//
// "SEND_ONCE" (or Domibus's "TIMEOUT;COUNT;SEND_ONCE", kept for the round trip):
// no retry. The zero RetryPolicy is SEND_ONCE, as a missing retry attribute is
// in Domibus.
//
// Domibus also gives the last attempt a few seconds of grace and, when a due
// time has already passed, moves to the next grid point after "now". as4gw's
// NextAttempt is a pure function of the first attempt time and the attempt
// count: a due time in the past means "send now"; the schedule never goes past
// TIMEOUT either way. A stricter rule of ours: CONSTANT retries must be at
// least one second apart (COUNT <= TIMEOUT*60).
type RetryPolicy struct {
	Strategy RetryStrategy `mapstructure:"strategy" yaml:"strategy"`
	Timeout  int           `mapstructure:"timeout" yaml:"timeout"`
	// Count is the number of retries of a CONSTANT policy.
	Count int `mapstructure:"count" yaml:"count"`
	// Initial and Factor define a PROGRESSIVE policy.
	Initial int `mapstructure:"initial" yaml:"initial"`
	Factor  int `mapstructure:"factor" yaml:"factor"`
}

// ParseRetry parses a Domibus retry string. Surrounding spaces and the case of
// the strategy name are forgiven; String writes the canonical form.
func ParseRetry(s string) (RetryPolicy, error) {
	fields := strings.Split(s, ";")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	strategy := RetryStrategy(strings.ToUpper(fields[len(fields)-1]))
	bad := func(format string, args ...any) (RetryPolicy, error) {
		return RetryPolicy{}, fmt.Errorf("retry %q: %s (formats: TIMEOUT;COUNT;CONSTANT, TIMEOUT;INITIAL;FACTOR;PROGRESSIVE, SEND_ONCE; minutes)", s, fmt.Sprintf(format, args...))
	}
	nums := make([]int, len(fields)-1)
	for i, f := range fields[:len(fields)-1] {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return bad("%q is not a whole number of minutes or attempts", f)
		}
		nums[i] = n
	}
	var r RetryPolicy
	switch {
	case strategy == RetrySendOnce && len(nums) == 0:
		r = RetryPolicy{Strategy: RetrySendOnce}
	case (strategy == RetrySendOnce || strategy == RetryConstant) && len(nums) == 2:
		r = RetryPolicy{Strategy: strategy, Timeout: nums[0], Count: nums[1]}
	case strategy == RetryProgressive && len(nums) == 3:
		r = RetryPolicy{Strategy: strategy, Timeout: nums[0], Initial: nums[1], Factor: nums[2]}
	case strategy == RetrySendOnce || strategy == RetryConstant || strategy == RetryProgressive:
		return bad("%s does not take %d numbers", strategy, len(nums))
	default:
		return bad("unknown strategy %q", fields[len(fields)-1])
	}
	if err := r.Validate(); err != nil {
		return bad("%v", err)
	}
	return r, nil
}

// Validate checks the values of a policy that was not parsed (e.g. decoded
// from a YAML map).
func (r RetryPolicy) Validate() error {
	switch r.strategy() {
	case RetrySendOnce:
		if r.Timeout < 0 || r.Count < 0 || r.Initial != 0 || r.Factor != 0 {
			return errors.New("SEND_ONCE takes no initial/factor and no negative values")
		}
	case RetryConstant:
		switch {
		case r.Initial != 0 || r.Factor != 0:
			return errors.New("CONSTANT takes timeout and count, not initial/factor")
		case r.Timeout < 1 || r.Timeout > maxRetryTimeout:
			return fmt.Errorf("timeout %d must be 1..%d minutes", r.Timeout, maxRetryTimeout)
		case r.Count < 1 || r.Count > maxRetryCount:
			return fmt.Errorf("count %d must be 1..%d retries", r.Count, maxRetryCount)
		case int64(r.Count) > int64(r.Timeout)*60:
			return fmt.Errorf("%d retries in %d minutes are less than a second apart", r.Count, r.Timeout)
		}
	case RetryProgressive:
		switch {
		case r.Count != 0:
			return errors.New("PROGRESSIVE takes timeout, initial and factor, not count")
		case r.Timeout < 1 || r.Timeout > maxRetryTimeout:
			return fmt.Errorf("timeout %d must be 1..%d minutes", r.Timeout, maxRetryTimeout)
		case r.Initial < 1 || r.Initial > r.Timeout:
			return fmt.Errorf("initial %d must be 1..timeout (%d) minutes", r.Initial, r.Timeout)
		case r.Factor < 2:
			return fmt.Errorf("factor %d must be greater than 1", r.Factor)
		}
	default:
		return fmt.Errorf("unknown strategy %q (use SEND_ONCE, CONSTANT or PROGRESSIVE)", r.Strategy)
	}
	return nil
}

// strategy maps the zero value to SEND_ONCE and forgives case.
func (r RetryPolicy) strategy() RetryStrategy {
	if r.Strategy == "" {
		return RetrySendOnce
	}
	return RetryStrategy(strings.ToUpper(string(r.Strategy)))
}

// String returns the Domibus form; ParseRetry(r.String()) == r for a valid r.
func (r RetryPolicy) String() string {
	switch st := r.strategy(); st {
	case RetryProgressive:
		return fmt.Sprintf("%d;%d;%d;%s", r.Timeout, r.Initial, r.Factor, st)
	case RetrySendOnce:
		if r.Timeout == 0 && r.Count == 0 {
			return string(RetrySendOnce)
		}
		return fmt.Sprintf("%d;%d;%s", r.Timeout, r.Count, st)
	default:
		return fmt.Sprintf("%d;%d;%s", r.Timeout, r.Count, st)
	}
}

// MarshalText writes the Domibus form.
func (r RetryPolicy) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses the Domibus form, so YAML can say retry: "12;4;CONSTANT"
// (mapstructure needs its TextUnmarshallerHookFunc for that; a map with
// strategy/timeout/count/initial/factor decodes without it).
func (r *RetryPolicy) UnmarshalText(text []byte) error {
	p, err := ParseRetry(string(text))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// constantInterval is TIMEOUT/COUNT truncated to milliseconds, as Domibus computes it.
func (r RetryPolicy) constantInterval() time.Duration {
	return time.Duration(int64(r.Timeout)*int64(time.Minute/time.Millisecond)/int64(r.Count)) * time.Millisecond
}

// Retries returns how many retries follow the first attempt (0 for an invalid policy).
func (r RetryPolicy) Retries() int {
	if r.Validate() != nil {
		return 0
	}
	switch r.strategy() {
	case RetryConstant:
		return r.Count
	case RetryProgressive:
		// Count INITIAL*FACTOR^k <= TIMEOUT without ever multiplying past it
		// (a huge FACTOR must not overflow).
		n, t, limit := 1, int64(r.Initial), int64(r.Timeout)/int64(r.Factor)
		for t <= limit {
			t *= int64(r.Factor)
			n++
		}
		return n
	}
	return 0
}

// Offsets returns when each retry is due, measured from the first attempt.
func (r RetryPolicy) Offsets() []time.Duration {
	n := r.Retries()
	out := make([]time.Duration, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.offset(i))
	}
	return out
}

// offset returns the due offset of retry i (1-based); the caller checks i <= Retries().
func (r RetryPolicy) offset(i int) time.Duration {
	if r.strategy() == RetryConstant {
		return time.Duration(i) * r.constantInterval()
	}
	t := int64(r.Initial)
	for k := 1; k < i; k++ {
		t *= int64(r.Factor)
	}
	return time.Duration(t) * time.Minute
}

// NextAttempt returns when the next attempt is due, given the time of the first
// attempt and how many attempts were made so far (including the first), or
// false when the policy is spent. With no attempt made yet it returns
// firstAttempt itself. An invalid policy sends once.
func (r RetryPolicy) NextAttempt(firstAttempt time.Time, attemptsSoFar int) (time.Time, bool) {
	if attemptsSoFar <= 0 {
		return firstAttempt, true
	}
	if attemptsSoFar > r.Retries() {
		return time.Time{}, false
	}
	return firstAttempt.Add(r.offset(attemptsSoFar)), true
}
