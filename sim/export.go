package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/beatgrid/beatgrid/geo"
)

// Exported pieces for other drivers of simulated terminals (beatgrid load): the same setup,
// walks, photos and inspections as Run's terminals, without Run's terminal loop.

// Credentials are what one enrolled terminal and its officer sign in with.
type Credentials struct {
	DeviceID, DeviceSecret, Username, Password string
}

// Station signs cfg's admin in and creates a station for this run (named after cfg.RunID)
// under the admin's unit. It returns the station's id and the admin's access token.
func Station(ctx context.Context, cfg Config) (station, adminToken string, err error) {
	cfg.fill()
	return setupStation(ctx, newClient(cfg.Server, 30*time.Second, false), &cfg)
}

// Enroll creates an officer of unit named name and a terminal, and enrolls the terminal, as
// the admin with token adminToken.
func Enroll(ctx context.Context, server, adminToken, unit, name string) (Credentials, error) {
	cr, err := enroll(ctx, newClient(server, 30*time.Second, false), adminToken, unit, name)
	return Credentials{DeviceID: cr.DeviceID, DeviceSecret: cr.Secret, Username: cr.Username, Password: cr.Password}, err
}

// TerminalName is the name of terminal i of run runID (its officer's username too).
func TerminalName(runID string, i int) string { return fmt.Sprintf("sim-%s-%03d", runID, i) }

// Walk returns the fixes terminal i walks, as Run's terminals do: one of cfg.Tracks walked
// there and back (or a synthetic walk), with a fix every cfg.FixEvery ending
// cfg.Mutations×cfg.BatchPoints fixes after the first. Positions only matter to a caller
// that times fixes itself.
func Walk(cfg Config, i int) []geo.Fix {
	cfg.fill()
	return walk(&cfg, i)
}

// NewPhoto makes a photo of 20–60 KB (random bytes behind a JPEG header) and its SHA-256
// in hex, as the blob is named.
func NewPhoto(rng *rand.Rand) (sha string, data []byte) {
	p := makePhoto(rng)
	return p.sha, p.data
}

// InspectionPayload is the payload of an inspection.submit of a venue at f with one photo.
func InspectionPayload(rng *rand.Rand, photo string, f geo.Fix) map[string]any {
	return inspectionPayload(rng, photo, f)
}
