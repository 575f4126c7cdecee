package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditRetention(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default 12 months", want: 8760 * time.Hour},
		{name: "from the file", yaml: "audit: {retention: 17520h}", want: 17520 * time.Hour},
		{name: "from the environment", yaml: "audit: {retention: 17520h}", env: map[string]string{"AS4GW_AUDIT_RETENTION": "9000h"}, want: 9000 * time.Hour},
		{name: "zero", yaml: "audit: {retention: 0s}", wantErr: "audit.retention: must be positive"},
		{name: "negative", yaml: "audit: {retention: -1h}", wantErr: "audit.retention: must be positive"},
		{name: "not a duration", yaml: "audit: {retention: forever}", wantErr: "audit.retention"},
		{name: "unknown key", yaml: "audit: {keep: 1h}", wantErr: "keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			cfg, err := Parse([]byte(validYAML+tt.yaml+"\n"), env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Audit.Retention != tt.want {
				t.Errorf("retention %s, want %s", cfg.Audit.Retention, tt.want)
			}
		})
	}
}
