package main

import (
	"context"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid/demo"
)

// seedDemo seeds the demo county when --demo asks and the database was empty (this start
// created the first admin), then keeps its ongoing patrols walking.
func (m *Main) seedDemo(ctx context.Context, created bool, password string) error {
	if !m.Config.Demo {
		return nil
	}
	if !created {
		fmt.Fprintln(m.Stdout, "demo: the database is not empty; nothing seeded")
		return nil
	}
	d, err := demo.Seed(ctx, demo.Services{Auth: m.Auth, Sync: m.Sync, Places: m.Places},
		demo.Options{AdminPassword: password, Out: m.Stdout})
	if err != nil {
		return err
	}
	m.Demo = d
	d.Live(context.Background(), 5*time.Second) // stopped by Close
	return nil
}
