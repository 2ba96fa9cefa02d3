package sim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/beatgrid/beatgrid/geo"
)

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// credentials of one simulated terminal and its officer.
type credentials struct {
	DeviceID, Secret, Username, Password string
}

// setup signs the admin in, creates a station for this run under the admin's unit, and an
// officer and an enrolled terminal for each of n terminals.
func setup(ctx context.Context, c *client, cfg *Config, n int) (station, adminToken string, creds []credentials, err error) {
	station, adminToken, err = setupStation(ctx, c, cfg)
	if err != nil {
		return "", "", nil, err
	}
	creds = make([]credentials, n)
	for i := range creds {
		if creds[i], err = enroll(ctx, c, adminToken, station, TerminalName(cfg.RunID, i)); err != nil {
			return "", "", nil, err
		}
		cfg.progress("setup: %d/%d terminals enrolled", i+1, n)
	}
	return station, adminToken, creds, nil
}

// setupStation signs the admin in and creates a station for this run under the admin's unit.
func setupStation(ctx context.Context, c *client, cfg *Config) (station, adminToken string, err error) {
	var admin tokens
	login := map[string]string{"username": cfg.AdminUser, "password": cfg.AdminPassword}
	if err := c.call(ctx, http.MethodPost, "/v1/auth/login", "", login, &admin); err != nil {
		return "", "", fmt.Errorf("sim: admin sign-in: %w", err)
	}
	var me struct {
		Scope struct{ ID string } `json:"scope"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/me", admin.Access, nil, &me); err != nil {
		return "", "", fmt.Errorf("sim: /v1/me: %w", err)
	}
	var st struct{ ID string }
	unit := map[string]string{"kind": "station", "name": "Sim station " + cfg.RunID, "parent_id": me.Scope.ID}
	if err := c.call(ctx, http.MethodPost, "/v1/org-units", admin.Access, unit, &st); err != nil {
		return "", "", fmt.Errorf("sim: create station: %w", err)
	}
	return st.ID, admin.Access, nil
}

// enroll creates an officer and a terminal of unit and enrolls the terminal.
func enroll(ctx context.Context, c *client, admin, unit, name string) (credentials, error) {
	cr := credentials{Username: name, Password: name + "-password"}
	user := map[string]any{"username": name, "password": cr.Password, "roles": []string{"officer"}, "org_unit_id": unit}
	if err := c.call(ctx, http.MethodPost, "/v1/users", admin, user, nil); err != nil {
		return cr, fmt.Errorf("sim: create officer %s: %w", name, err)
	}
	var dev struct {
		Code string `json:"enrollment_code"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/devices", admin, map[string]string{"name": name, "org_unit_id": unit}, &dev); err != nil {
		return cr, fmt.Errorf("sim: create terminal %s: %w", name, err)
	}
	var enrolled struct {
		DeviceID string `json:"device_id"`
		Secret   string `json:"device_secret"`
	}
	body := map[string]string{"enrollment_code": dev.Code, "hardware_id": "sim-" + name}
	if err := c.call(ctx, http.MethodPost, "/v1/devices/enroll", "", body, &enrolled); err != nil {
		return cr, fmt.Errorf("sim: enroll %s: %w", name, err)
	}
	cr.DeviceID, cr.Secret = enrolled.DeviceID, enrolled.Secret
	return cr, nil
}

// checkpoint is one a terminal passes on its walk and punches.
type checkpoint struct {
	index   int // the fix of the walk it stands at
	id, tag string
}

// placeCheckpoints creates n checkpoints of station along a terminal's walk, 30 m in radius,
// each with its own tag.
func placeCheckpoints(ctx context.Context, c *client, admin, station, name string, fixes []geo.Fix, n int) ([]checkpoint, error) {
	var out []checkpoint
	for k := 0; k < n; k++ {
		i := (k*2 + 1) * len(fixes) / (2 * n)
		tag := fmt.Sprintf("%s-cp%d", name, k)
		body := map[string]any{"org_unit_id": station, "name": tag, "radius_m": 30, "tag": tag,
			"geometry": map[string]any{"type": "Point", "coordinates": []float64{fixes[i].Point[0], fixes[i].Point[1]}}}
		var cp struct{ ID string }
		if err := c.call(ctx, http.MethodPost, "/v1/checkpoints", admin, body, &cp); err != nil {
			return nil, fmt.Errorf("sim: create checkpoint %s: %w", tag, err)
		}
		out = append(out, checkpoint{index: i, id: cp.ID, tag: tag})
	}
	return out, nil
}
