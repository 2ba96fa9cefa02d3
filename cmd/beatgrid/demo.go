package main

import (
	"context"
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid/demo"
	"github.com/beatgrid/beatgrid/inspect"
	"github.com/beatgrid/beatgrid/report"
)

// demoClock is the clock of the inspect service's console actions: one the demo may back-date
// while it seeds when --demo asks and the database is empty (this start created the first
// admin), nil (the service's own) otherwise.
func (m *Main) demoClock(created bool) *demo.Clock {
	if !m.Config.Demo || !created {
		return nil
	}
	return &demo.Clock{}
}

// seedDemo seeds the demo county when --demo asks and the database was empty (this start
// created the first admin), then keeps its ongoing patrols walking.
func (m *Main) seedDemo(ctx context.Context, created bool, password string, insp *inspect.Service, reports *report.Service, clock *demo.Clock) error {
	if !m.Config.Demo {
		return nil
	}
	if !created {
		fmt.Fprintln(m.Stdout, "demo: the database is not empty; nothing seeded")
		return nil
	}
	if clock == nil {
		return fmt.Errorf("demo: the inspect service was made without the demo clock")
	}
	d, err := demo.Seed(ctx, demo.Services{Auth: m.Auth, Sync: m.Sync, Places: m.Places, Inspect: insp, Clock: clock, Reports: reports},
		demo.Options{AdminPassword: password, Out: m.Stdout})
	if err != nil {
		return err
	}
	m.Demo = d
	d.Live(context.Background(), 5*time.Second) // stopped by Close
	return nil
}
