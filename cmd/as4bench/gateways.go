package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gatewayInfo is the gateway.json "as4gw devpair" writes.
type gatewayInfo struct {
	PartyID     string `json:"partyId"`
	PartyIDType string `json:"partyIdType"`
	AS4URL      string `json:"as4Url"`
	APIURL      string `json:"apiUrl"`
	OpsURL      string `json:"opsUrl"`
}

// gateway is one side of the pair as the bench sees it.
type gateway struct {
	name    string
	dir     string // devpair layout: gateway.json, api-token, key.pem, example-metadata.json, data/
	info    gatewayInfo
	token   string
	dataDir string
	pid     int // 0 when unknown
	proc    *exec.Cmd
	logPath string
	pprof   string // host:port of the bench's profiling hook, if built in
	exited  chan struct{}
	waitErr error
}

// loadGateway reads a gateway in the devpair layout from the folder of its
// gateway.json.
func loadGateway(name, gatewayJSON string) (*gateway, error) {
	data, err := os.ReadFile(gatewayJSON)
	if err != nil {
		return nil, err
	}
	g := &gateway{name: name, dir: filepath.Dir(gatewayJSON)}
	if err := json.Unmarshal(data, &g.info); err != nil {
		return nil, fmt.Errorf("%s: %w", gatewayJSON, err)
	}
	if g.info.APIURL == "" {
		return nil, fmt.Errorf("%s: no apiUrl", gatewayJSON)
	}
	tok, err := os.ReadFile(filepath.Join(g.dir, "api-token"))
	if err != nil {
		return nil, fmt.Errorf("%s gateway: the API token (devpair layout: api-token beside gateway.json): %w", name, err)
	}
	g.token = strings.TrimSpace(string(tok))
	g.dataDir = filepath.Join(g.dir, "data")
	return g, nil
}

func (g *gateway) port(u string) (int, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(pu.Port())
}

// findModuleRoot returns the folder of the as4gw module's go.mod, from the
// working directory.
func findModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (give --as4gw PATH)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the as4gw module: run from the checkout or give --as4gw PATH")
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(data, []byte("module github.com/as4gw/as4gw\n")) {
		return "", fmt.Errorf("%s is not the as4gw module: run from the checkout or give --as4gw PATH", gomod)
	}
	return filepath.Dir(gomod), nil
}

// pprofHook is compiled into the bench's own build of as4gw (through
// go build -overlay, the checkout is not touched) when --cpuprofile is given:
// with AS4BENCH_PPROF=host:port the gateway serves /start?file=F (begin a CPU
// profile into F), /stop, and /heap?file=F.
const pprofHook = `package main

import (
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
)

func init() {
	addr := os.Getenv("AS4BENCH_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	var cur *os.File
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(r.URL.Query().Get("file"))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		cur = f
	})
	mux.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		pprof.StopCPUProfile()
		if cur != nil {
			cur.Close()
			cur = nil
		}
	})
	mux.HandleFunc("/heap", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(r.URL.Query().Get("file"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		runtime.GC()
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	go http.ListenAndServe(addr, mux)
}
`

// buildAS4GW builds cmd/as4gw into dir, with the profiling hook when withPprof.
func buildAS4GW(ctx context.Context, dir string, withPprof bool, log io.Writer) (string, error) {
	root, err := findModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "as4gw")
	args := []string{"build", "-o", bin}
	if withPprof {
		hook := filepath.Join(dir, "as4bench_pprof.go")
		if err := os.WriteFile(hook, []byte(pprofHook), 0o644); err != nil {
			return "", err
		}
		ov, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(root, "cmd", "as4gw", "zz_as4bench_pprof.go"): hook}})
		ovPath := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ovPath)
	}
	args = append(args, "./cmd/as4gw")
	fmt.Fprintf(log, "building as4gw (go %s)\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/as4gw: %w", err)
	}
	return bin, nil
}

// freePorts finds n consecutive loopback ports that can be bound now.
func freePorts(n int) (int, error) {
	for range 200 {
		base := 20000 + rand.IntN(40000-n)
		var ls []net.Listener
		ok := true
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free loopback ports found", n)
}

// startGateway runs "as4gw serve" for g as a child in its own process group
// (a Ctrl-C in the terminal reaches the bench, which stops the child), killed
// by the kernel should the bench die first.
func startGateway(ctx context.Context, bin string, g *gateway) error {
	g.logPath = filepath.Join(filepath.Dir(g.dir), g.name+".log")
	logf, err := os.Create(g.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--config", filepath.Join(g.dir, "as4gw.yaml"))
	cmd.Dir = g.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if g.pprof != "" {
		cmd.Env = append(cmd.Env, "AS4BENCH_PPROF="+g.pprof)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s gateway: %w", g.name, err)
	}
	g.proc, g.pid = cmd, cmd.Process.Pid
	g.exited = make(chan struct{})
	go func() {
		g.waitErr = cmd.Wait()
		close(g.exited)
	}()
	return waitReady(ctx, g)
}

// waitReady polls the operations listener's /readyz for up to a minute.
func waitReady(ctx context.Context, g *gateway) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(g.info.OpsURL, "/")+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-g.exitedChan():
			return fmt.Errorf("%s gateway exited before it was ready (%v)%s", g.name, g.waitErr, g.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s gateway not ready within a minute: %s%s", g.name, last, g.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exitedChan is closed when a started gateway exits; nil (never ready) for
// gateways the bench did not start.
func (g *gateway) exitedChan() <-chan struct{} { return g.exited }

// logTail is the end of a started gateway's log, for error messages.
func (g *gateway) logTail() string {
	if g.logPath == "" {
		return ""
	}
	f, err := os.Open(g.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 15 {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n  " + g.name + " log (" + g.logPath + "):\n    " + strings.Join(lines, "\n    ")
}

// stop ends a gateway the bench started: SIGTERM (graceful), SIGKILL after 15 s.
func (g *gateway) stop() {
	if g.proc == nil || g.exited == nil {
		return
	}
	_ = g.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		_ = g.proc.Process.Kill()
		<-g.exited
	}
}
