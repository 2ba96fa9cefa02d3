package geo_test

import (
	"fmt"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
)

func ExampleFootprintCells() {
	p := orb.Point{121.87, 29.48}
	alt := 100.0 // metres above ground
	drone := geo.View{Mode: geo.Drone, Alt: &alt}
	r, _ := drone.Reach()
	cells, err := geo.FootprintCells(p, drone, geo.DefaultZoom)
	fmt.Printf("drone sees %.0f m around it: %d cells %v\n", r, len(cells), err)

	heading := 90.0 // looking east
	camera := geo.View{Mode: geo.Video, Heading: &heading}
	cells, _ = geo.FootprintCells(p, camera, geo.DefaultZoom)
	fmt.Println("camera:", cells)
	// Output:
	// drone sees 90 m around it: 4 cells <nil>
	// camera: [18/219815/108590]
}

func ExampleSweepCells() {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	fixes := []geo.Fix{
		{Point: orb.Point{121.8700, 29.4800}, T: t0},
		{Point: orb.Point{121.8740, 29.4800}, T: t0.Add(time.Minute)}, // 390 m east
	}
	visits, _ := geo.SweepCells(fixes, geo.DefaultSweep)
	walked := geo.Rasterize(fixes, geo.DefaultRaster)
	fmt.Println(len(visits), "cells seen from 100 m,", len(walked), "flown over")
	fmt.Println(visits[0].Cell, visits[0].T.Format("15:04:05"))
	// Output:
	// 10 cells seen from 100 m, 3 flown over
	// 18/219814/108589 08:00:00
}
