package geo_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/paulmach/orb"
)

func ExampleCellAt() {
	c := geo.CellAt(orb.Point{121.87, 29.48}, geo.DefaultZoom)
	fmt.Println(c, c.Zoom())
	fmt.Printf("%#016x\n", uint64(c))
	// Output:
	// 18/219815/108590 18
	// 0x0f3388997b000000
}

func ExampleCell_Range() {
	p := orb.Point{121.87, 29.48}
	district := geo.CellAt(p, 12) // ≈ 8.5 km across
	lo, hi := district.Range()    // every finer cell inside it has a key in [lo, hi]
	cell := geo.CellAt(p, 18)
	fmt.Println(lo <= cell && cell <= hi, cell.Parent(12) == district)
	fmt.Println(district.Tile())
	// Output:
	// true true
	// 12/3434/1696
}

func ExampleFromGCJ02() {
	gcj := orb.Point{121.531541859215, 31.17530398364597} // Shanghai, as AMap shows it
	wgs := geo.FromGCJ02(gcj)
	fmt.Printf("%.7f %.7f\n", wgs[0], wgs[1])
	fmt.Printf("shifted %.0f m\n", geo.Distance(gcj, wgs))
	// Output:
	// 121.5272106 31.1774276
	// shifted 475 m
}

func ExampleValidateArea() {
	bowTie := orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}
	err := geo.ValidateArea(bowTie, 100)
	fmt.Println(err.(*geo.Error).Path)
	fmt.Println(err.(*geo.Error).Reason)
	// Output:
	// /coordinates/0/2
	// ring crosses itself: edge 2-3 meets edge 0-1
}

func ExampleFilter() {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	at := func(lon, lat float64, sec int) geo.Fix {
		return geo.Fix{Point: orb.Point{lon, lat}, T: t0.Add(time.Duration(sec) * time.Second)}
	}
	fixes := []geo.Fix{
		at(8.5400, 47.3700, 0),
		at(8.5401, 47.3700, 5),
		at(8.6000, 47.4000, 10), // 5.8 km in 5 s
		at(8.5400, 47.3700, 15), // back to the first position, exactly
		at(8.5402, 47.3700, 20),
	}
	cfg, _ := geo.FilterFor(geo.Foot)
	kept, st := geo.Filter(fixes, cfg)
	fmt.Println(len(kept), "kept;", st.Teleport, "teleport,", st.Repeat, "repeat")
	// Output: 3 kept; 1 teleport, 1 repeat
}

func ExampleRasterize() {
	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	fixes := []geo.Fix{
		{Point: orb.Point{121.8700, 29.4800}, T: t0},
		{Point: orb.Point{121.8740, 29.4800}, T: t0.Add(time.Minute)}, // 390 m east
	}
	for _, v := range geo.Rasterize(fixes, geo.DefaultRaster) {
		fmt.Println(v.Cell, v.T.Format("15:04:05"))
	}
	// Output:
	// 18/219815/108590 08:00:00
	// 18/219816/108590 08:00:20
	// 18/219817/108590 08:00:40
}

func ExampleCover() {
	beat := orb.Polygon{{{120.650, 28.010}, {120.659, 28.010}, {120.659, 28.016}, {120.650, 28.016}, {120.650, 28.010}}}
	cells, err := geo.Cover(beat, geo.DefaultZoom, 10000)
	fmt.Println(len(cells), err, cells[0])
	// Output: 48 <nil> 18/218926/109806
}

func ExampleSnap() {
	checkpoints := []orb.Point{{8.5400, 47.3700}, {8.5450, 47.3720}}
	i, d, ok := geo.Snap(orb.Point{8.5449, 47.3721}, checkpoints, 30)
	fmt.Printf("%d %.1f m %v\n", i, d, ok)
	// Output: 1 13.4 m true
}

func ExampleRouteAdherence() {
	route := orb.LineString{{8.5400, 47.3700}, {8.5500, 47.3700}}
	track := orb.LineString{{8.5400, 47.3701}, {8.5450, 47.3701}, {8.5450, 47.3720}}
	a := geo.RouteAdherence(route, track, 25)
	fmt.Printf("route %.0f m, %.0f%% covered; track %.0f%% off the route\n", a.RouteLength, 100*a.RouteCovered, 100*a.TrackOff)
	// Output: route 754 m, 53% covered; track 34% off the route
}

func ExampleParseCSV() {
	const file = "user_id;longitude;latitude;accuracy;tracked_at\n" +
		"0;7.0389004;47.0516249;0.0;2019-01-25 20:00:16.178999901\n"
	fixes, err := geo.ParseCSV(strings.NewReader(file))
	fmt.Println(fixes[0].Point, fixes[0].T, err)
	// Output: [7.0389004 47.0516249] 2019-01-25 20:00:16.178999901 +0000 UTC <nil>
}
