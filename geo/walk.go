package geo

import "math"

// walk visits, in order, every tile that the tile-space segment a→b passes through (a
// supercover: where the segment goes exactly through a tile corner it steps diagonally),
// passing the fraction t ∈ [0, 1] of the segment at which it enters each tile; the first
// tile is a's, entered at 0. Tiles are half-open, so a segment ending on a tile edge ends
// in the tile beyond it. It makes at most walkLen(a, b) visits.
func walk(a, b tilePt, visit func(x, y int, t float64)) {
	x, y := int(math.Floor(a.X)), int(math.Floor(a.Y))
	ex, ey := int(math.Floor(b.X)), int(math.Floor(b.Y))
	sx, nextX, dX := axisStep(a.X, b.X)
	sy, nextY, dY := axisStep(a.Y, b.Y)
	visit(x, y, 0)
	for x != ex || y != ey {
		stepX := x != ex && (y == ey || nextX <= nextY)
		stepY := y != ey && (x == ex || nextY <= nextX)
		t := 0.0
		if stepX {
			x, t, nextX = x+sx, nextX, nextX+dX
		}
		if stepY {
			y, t, nextY = y+sy, max(t, nextY), nextY+dY
		}
		visit(x, y, min(t, 1))
	}
}

// axisStep returns, for one axis of a walk from a to b, the step direction, the segment
// fraction at which the first tile boundary is crossed, and the fraction between crossings.
func axisStep(a, b float64) (step int, next, delta float64) {
	d := b - a
	switch {
	case d > 0:
		return 1, (math.Floor(a) + 1 - a) / d, 1 / d
	case d < 0:
		return -1, (a - math.Floor(a)) / -d, -1 / d
	}
	return 0, math.Inf(1), math.Inf(1)
}

// walkLen is the most tiles walk(a, b) visits.
func walkLen(a, b tilePt) int {
	dx := math.Abs(math.Floor(b.X) - math.Floor(a.X))
	dy := math.Abs(math.Floor(b.Y) - math.Floor(a.Y))
	return int(dx+dy) + 1
}
