package geo

import (
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// Adherence measures how closely a patrol track followed its route.
type Adherence struct {
	RouteLength  float64 // metres (haversine)
	TrackLength  float64 // metres (haversine)
	RouteCovered float64 // share of the route's length within the corridor of the track, 0..1
	TrackOff     float64 // share of the track's length outside the corridor of the route, 0..1
}

// maxSamples bounds the work of RouteAdherence per line.
const maxSamples = 100_000

// RouteAdherence compares a route with the track that patrolled it, given a corridor
// half-width in metres. Both lines are projected on a local plane around the route's
// start; each is cut into pieces of at most corridor/4 (no less than 0.5 m, and no more
// than 100 000 pieces) whose midpoints are tested against the other line. An empty line
// covers nothing; shares of an empty line are 0.
func RouteAdherence(route, track orb.LineString, corridor float64) Adherence {
	if !(corridor > 0) {
		corridor = 0
	}
	pl := planeAt(firstPoint(route, track))
	r, t := pl.line(route), pl.line(track)
	a := Adherence{RouteLength: orbgeo.LengthHaversine(route), TrackLength: orbgeo.LengthHaversine(track)}
	a.RouteCovered = nearShare(r, t, corridor)
	if off := 1 - nearShare(t, r, corridor); planeLength(t) > 0 {
		a.TrackOff = off
	}
	return a
}

func firstPoint(lines ...orb.LineString) orb.Point {
	for _, ls := range lines {
		if len(ls) > 0 {
			return ls[0]
		}
	}
	return orb.Point{}
}

func planeLength(line []vec) float64 {
	var l float64
	for i := 0; i+1 < len(line); i++ {
		l += math.Hypot(line[i+1].x-line[i].x, line[i+1].y-line[i].y)
	}
	return l
}

// nearShare is the share of a's length that lies within r of b.
func nearShare(a, b []vec, r float64) float64 {
	total := planeLength(a)
	if total == 0 {
		return 0
	}
	step := max(r/4, 0.5, total/maxSamples)
	near := 0.0
	for i := 0; i+1 < len(a); i++ {
		near += nearLength(a[i], a[i+1], b, r, step)
	}
	return min(near/total, 1)
}

// nearLength is the length of segment pq within r of line b, sampled every step.
func nearLength(p, q vec, b []vec, r, step float64) float64 {
	l := math.Hypot(q.x-p.x, q.y-p.y)
	k := max(1, math.Ceil(l/step))
	near := 0.0
	for j := 0.0; j < k; j++ {
		f := (j + 0.5) / k
		if within(vec{p.x + f*(q.x-p.x), p.y + f*(q.y-p.y)}, b, r) {
			near += l / k
		}
	}
	return near
}

// within reports whether p lies within r of the line b (a single point if it has one).
func within(p vec, b []vec, r float64) bool {
	if len(b) == 1 {
		return segDist2(p, b[0], b[0]) <= r*r
	}
	for i := 0; i+1 < len(b); i++ {
		if nearBox(p, b[i], b[i+1], r) && segDist2(p, b[i], b[i+1]) <= r*r {
			return true
		}
	}
	return false
}

// nearBox reports whether p lies within the box of segment ab grown by r.
func nearBox(p, a, b vec, r float64) bool {
	return p.x >= min(a.x, b.x)-r && p.x <= max(a.x, b.x)+r && p.y >= min(a.y, b.y)-r && p.y <= max(a.y, b.y)+r
}
