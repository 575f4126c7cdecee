package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The crash test: a child process (this test binary, re-executed) writes to a store as
// fast as it can and prints a line for every operation *after* the operation returned,
// i.e. after the store said "durable". The parent kills it with SIGKILL at a random
// moment, reopens the store and checks that everything printed is there, payloads intact,
// and that no orphan payload file or temporary file survived the recovery at open.
//
// SIGKILL tests the ordering and the recovery (the page cache survives a killed process);
// it cannot test whether the disk honours fsync. See the package documentation.

const crashEnv = "AS4GW_STORE_CRASH_CHILD"

func TestCrashRecovery(t *testing.T) {
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	total := 0
	for round := 0; round < rounds; round++ {
		killAfter := time.Duration(50+rng.IntN(400)) * time.Millisecond
		lines := runCrashChild(t, dir, round, killAfter)
		total += verifyAfterCrash(t, dir, lines, round)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d rounds, %d acknowledged operations checked after SIGKILL", rounds, total)
}

// runCrashChild starts the child on dir, kills it after the delay (counted from its first
// acknowledged operation) and returns every line it printed.
func runCrashChild(t *testing.T, dir string, round int, killAfter time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, "AS4GW_STORE_CRASH_ROUND="+strconv.Itoa(round))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	first := make(chan struct{})
	go func() {
		select {
		case <-first:
			time.Sleep(killAfter)
		case <-time.After(20 * time.Second):
		}
		cmd.Process.Signal(syscall.SIGKILL)
	}()
	once := sync.Once{}
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "op ") {
			continue // test framework output
		}
		lines = append(lines, line)
		once.Do(func() { close(first) })
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	return lines
}

// TestCrashChild is the child's body; it does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	round, _ := strconv.Atoi(os.Getenv("AS4GW_STORE_CRASH_ROUND"))
	s, err := OpenBolt(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var outMu sync.Mutex
	emit := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(os.Stdout, "op "+format+"\n", args...) // unbuffered: one write per line
		outMu.Unlock()
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
			for i := 0; ; i++ {
				// Up to twice the inline threshold: about half the payloads are committed
				// inside the database, the rest as files.
				data := make([]byte, rng.IntN(2*DefaultInlinePayloadBytes))
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				sum := sha256.Sum256(data)
				p := putPayload(t, s, data)
				id := fmt.Sprintf("r%d-g%d-%d@crash", round, g, i)
				var m Message
				var err error // per goroutine: the outer one is shared
				if g%2 == 0 {
					m, err = s.Submit(bg, outMsg(id, fmt.Sprintf("p%d", g)))
					if err == nil {
						// a second payload-less message keeps the claim path busy
						m, err = s.Submit(bg, outMsg(id+".2", fmt.Sprintf("p%d", g), p))
						id += ".2"
					}
				} else {
					m, err = s.Receive(bg, inMsg(id, fmt.Sprintf("peer%d", g), "org-1", p))
				}
				if err != nil {
					t.Error(err)
					return
				}
				emit("ins %d %s %s", m.Key, id, hex.EncodeToString(sum[:]))
				if g%2 == 1 {
					// The peer re-sends: refused, the original is kept.
					if _, err := s.Receive(bg, inMsg(id, fmt.Sprintf("peer%d", g), "org-1")); !errors.Is(err, ErrDuplicate) {
						t.Errorf("re-send of %s: %v", id, err)
						return
					}
					if i%3 == 0 {
						if _, err := s.MarkDownloaded(bg, m.Key); err != nil {
							t.Error(err)
							return
						}
						emit("state %d %s", m.Key, Downloaded)
					}
					continue
				}
				got, err := s.ClaimDue(bg, time.Now(), 4, time.Hour, nil)
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range got {
					if _, err := s.MarkAcknowledged(bg, c.Key, Attempt{HTTPStatus: 200}, Receipt{MessageID: "r-" + c.ID}); err != nil {
						t.Error(err)
						return
					}
					emit("state %d %s", c.Key, Acknowledged)
				}
			}
		}()
	}
	wg.Wait() // only on error; normally the parent kills us first
}

func verifyAfterCrash(t *testing.T, dir string, lines []string, round int) int {
	t.Helper()
	s, err := OpenBolt(dir, Options{})
	if err != nil {
		t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
	}
	defer s.Close()
	for _, line := range lines {
		f := strings.Fields(line)
		k, _ := strconv.ParseUint(f[2], 10, 64)
		m, err := s.Get(bg, Key(k))
		if err != nil {
			t.Fatalf("round %d: acknowledged %q lost: %v", round, line, err)
		}
		switch f[1] {
		case "ins":
			if m.ID != f[3] {
				t.Fatalf("round %d: key %d holds %s, want %s", round, k, m.ID, f[3])
			}
			last := m.Payloads[len(m.Payloads)-1]
			if last.SHA256.String() != f[4] {
				t.Fatalf("round %d: %s payload digest %s, want %s", round, m.ID, last.SHA256, f[4])
			}
			checkPayloads(t, s, m)
		case "state":
			// Nothing in the child moves a message on from these states.
			if string(m.State) != f[3] {
				t.Fatalf("round %d: %s is %s, acknowledged as %s", round, m.ID, m.State, f[3])
			}
		}
	}
	// No orphans: every payload file is referenced, no temporary file is left.
	refs := map[string]bool{}
	s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bMsg).ForEach(func(_, v []byte) error {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			for _, p := range m.Payloads {
				refs[string(p.Blob)] = true
			}
			return nil
		})
	})
	for _, f := range payloadFiles(t, dir) {
		name := f[strings.LastIndexByte(f, '/')+1:]
		if !refs[name] {
			t.Fatalf("round %d: orphan payload file %s after recovery", round, f)
		}
	}
	for _, k := range inlineKeys(t, s) {
		if !refs[k] {
			t.Fatalf("round %d: inline payload %s referenced by no message", round, k)
		}
	}
	if st, _ := s.Stats(bg); st.Messages[SendInProgress] != 0 {
		t.Fatalf("round %d: %d messages still SEND_IN_PROGRESS after open", round, st.Messages[SendInProgress])
	}
	checkInvariants(t, s)
	st, _ := s.Stats(bg)
	t.Logf("round %d: %d acknowledged operations intact (%d of %d payloads inline); recovery %+v", round, len(lines), st.InlinePayloads, st.PayloadFiles, s.Recovered())
	return len(lines)
}
