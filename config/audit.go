package config

import "time"

// DefaultAuditRetention keeps audit records 12 months, the SDK profile's minimum.
const DefaultAuditRetention = 8760 * time.Hour

// Audit configures the audit log: one record per message event, per participant, read by
// backends through GET /api/v1/audit. Records outlive the messages they describe and are
// purged only by age.
type Audit struct {
	// Retention is how long a record is kept (default 8760h, 12 months). Records older
	// than this are deleted by an hourly purge.
	Retention time.Duration `mapstructure:"retention"`
}

func (a *Audit) validate(p *Problems) {
	if a.Retention <= 0 {
		p.add("audit.retention", "must be positive (e.g. 8760h for 12 months); audit records cannot be switched off")
	}
}
