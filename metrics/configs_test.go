package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/internal/testutil"
)

func configFile(t *testing.T, rel string) string {
	return filepath.Join(testutil.RepoRoot(t), "configs", filepath.FromSlash(rel))
}

// TestAlertRulesPromtool checks configs/prometheus/alerts.yaml and runs its
// unit tests with promtool (Debian package prometheus).
func TestAlertRulesPromtool(t *testing.T) {
	promtool := testutil.RequireTool(t, "promtool", "prometheus")
	dir := configFile(t, "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestGrafanaDashboardParses: the dashboard is valid JSON with panels that
// all have queries.
func TestGrafanaDashboardParses(t *testing.T) {
	data, err := os.ReadFile(configFile(t, "grafana/as4gw.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("as4gw.json: %v", err)
	}
	if d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard has no title or panels")
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

var metricName = regexp.MustCompile(`\b(?:as4gw|go|process)_[a-z0-9_]+\b`)

// TestConfigsUseExistingMetrics: every metric name in the alert rules and
// the dashboard is one the registry exposes (after each metric was moved
// once), so a rename cannot silently break an alert.
func TestConfigsUseExistingMetrics(t *testing.T) {
	m, _ := newTest(t)
	exercise(m)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				have[mf.GetName()+s] = true
			}
		}
	}
	for _, rel := range []string{"prometheus/alerts.yaml", "grafana/as4gw.json"} {
		data, err := os.ReadFile(configFile(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		names := metricName.FindAllString(string(data), -1)
		if len(names) == 0 {
			t.Errorf("%s names no metrics", rel)
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("%s uses %s, which the registry does not expose", rel, n)
			}
		}
	}
}
