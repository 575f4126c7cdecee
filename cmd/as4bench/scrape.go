package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A gateway's own counters, read from its /metrics: the dead-partner scenario's queue and
// attempts, and every run's store commits.

// scrapeMetrics reads a gateway's /metrics into "name{labels}" → value (labels as the
// Prometheus text format writes them, sorted by name).
func scrapeMetrics(ctx context.Context, g *gateway) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(g.info.OpsURL, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := noProxyClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// storeCounters are a gateway's store commit counters at one moment.
type storeCounters struct {
	ok                       bool
	commits, writes, seconds float64
}

func readStoreCounters(ctx context.Context, g *gateway) storeCounters {
	if g.info.OpsURL == "" {
		return storeCounters{}
	}
	m, err := scrapeMetrics(ctx, g)
	if err != nil {
		return storeCounters{}
	}
	c, okC := m["as4gw_store_commits_total"]
	w, okW := m["as4gw_store_write_operations_total"]
	return storeCounters{ok: okC && okW, commits: c, writes: w, seconds: m["as4gw_store_commit_duration_seconds_sum"]}
}

// perMessage is the growth since before, per message, and the mean commit time.
func (after storeCounters) perMessage(before storeCounters, messages int) (commits, writes, meanMs *float64) {
	if !after.ok || !before.ok || messages <= 0 {
		return nil, nil, nil
	}
	n := after.commits - before.commits
	c := round(n/float64(messages), 3)
	w := round((after.writes-before.writes)/float64(messages), 3)
	if n > 0 {
		ms := round((after.seconds-before.seconds)/n*1000, 3)
		meanMs = &ms
	}
	return &c, &w, meanMs
}
