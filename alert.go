package beatgrid

import (
	"context"
	"time"
)

// Alert kinds.
const (
	AlertHazardOverdue    = "hazard_overdue"    // a hazard past its rectification deadline
	AlertCheckpointMissed = "checkpoint_missed" // a patrol ended without a verified punch at checkpoints of its route
	AlertBeatUnderSLA     = "beat_under_sla"    // a beat covered below its share in the last day
	AlertDeviceSilent     = "device_silent"     // a patrol still open whose terminal stopped reporting
)

// AlertAck is a commander's acknowledgement of an alert: stored once, never changed.
type AlertAck struct {
	AlertID string
	UserID  string
	Note    string
	At      time.Time
}

// AlertStore keeps acknowledgements. InsertAck returns ECONFLICT if the alert was
// acknowledged before.
type AlertStore interface {
	InsertAck(ctx context.Context, a *AlertAck) error
	LoadAcks(ctx context.Context) ([]*AlertAck, error)
}
