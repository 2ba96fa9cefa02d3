package geo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// Video is the patrol mode of cameras on the ground: fixed, PTZ, body and vehicle cameras.
// Drone is the other mode whose camera sees a footprint (see View).
const Video Mode = "video"

// Camera is what a camera sees.
type Camera struct {
	FOVDeg float64 // horizontal field of view, degrees
	RangeM float64 // how far a video camera sees, metres; a drone's reach follows its height
}

// The cameras assumed when a View leaves a field zero.
var (
	// DroneCamera looks straight down with a typical 84° lens.
	DroneCamera = Camera{FOVDeg: 84}
	// VideoCamera sees a 60° sector 50 m deep.
	VideoCamera = Camera{FOVDeg: 60, RangeM: 50}
)

// Drone heights above ground, metres.
const (
	DefaultDroneAlt = 100 // assumed when the height is unknown
	MinDroneAlt     = 10
	MaxDroneAlt     = 500
)

// UnknownHeadingRadius is the radius, in metres, of the circle a video camera is taken to
// see when its heading is unknown.
const UnknownHeadingRadius = 25

// footprintVertices is the number of vertices of a full circle; arcs use the same angular
// step, 15°: the polygons are inscribed in the true circle and lose 1.1% of its area.
const footprintVertices = 24

// maxFootprintCells bounds the cells of one footprint (a 500 m drone at 84° reaches 450 m:
// about 60 zoom-18 cells).
const maxFootprintCells = 1 << 16

// View is how a camera at some position looks. Readings that may be missing are pointers,
// as in the sync payloads: nil means unknown.
type View struct {
	Mode   Mode   // Drone or Video
	Camera Camera // zero fields take the mode's: DroneCamera or VideoCamera
	// Heading is where a video camera looks, degrees clockwise from north; nil or not
	// finite means unknown, and the camera is taken to see a circle of
	// UnknownHeadingRadius around it. Drones look straight down and ignore it.
	Heading *float64
	// Alt is a drone's height above ground in metres; nil or not finite means unknown,
	// DefaultDroneAlt. Other values are clamped to MinDroneAlt..MaxDroneAlt, so a zero or
	// negative height (a bad reading, or the height above sea level of a coastal take-off)
	// gives the smallest footprint, never a larger one. Video ignores it.
	Alt *float64
}

// ErrView reports a View with an unknown mode or an impossible camera.
var ErrView = errors.New("geo: invalid view")

// shape is a View resolved: a sector of radius r metres and fov degrees, centred on
// heading, or a circle when fov is 360.
type shape struct {
	r, fov, heading float64
}

// resolve applies the defaults and clamps of v, or fails for an unknown mode or a camera
// with a negative or non-finite field, or a drone's FOV not below 180°.
func (v View) resolve() (shape, error) {
	cam := v.Camera
	if !(cam.FOVDeg >= 0 && cam.FOVDeg <= 360) || !(cam.RangeM >= 0 && cam.RangeM < math.Inf(1)) {
		return shape{}, fmt.Errorf("%w: camera %+v", ErrView, cam)
	}
	switch v.Mode {
	case Drone:
		if cam.FOVDeg == 0 {
			cam.FOVDeg = DroneCamera.FOVDeg
		}
		if cam.FOVDeg >= 180 {
			return shape{}, fmt.Errorf("%w: a drone camera's field of view must be under 180°, not %v", ErrView, cam.FOVDeg)
		}
		alt := float64(DefaultDroneAlt)
		if v.Alt != nil && fpFinite(*v.Alt) {
			alt = max(MinDroneAlt, min(*v.Alt, MaxDroneAlt))
		}
		return shape{r: alt * math.Tan(cam.FOVDeg/2*math.Pi/180), fov: 360}, nil
	case Video:
		if cam.FOVDeg == 0 {
			cam.FOVDeg = VideoCamera.FOVDeg
		}
		if cam.RangeM == 0 {
			cam.RangeM = VideoCamera.RangeM
		}
		if v.Heading == nil || !fpFinite(*v.Heading) {
			return shape{r: UnknownHeadingRadius, fov: 360}, nil
		}
		return shape{r: cam.RangeM, fov: cam.FOVDeg, heading: *v.Heading}, nil
	}
	return shape{}, fmt.Errorf("%w: mode %q has no camera footprint", ErrView, v.Mode)
}

func fpFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Reach is how far from the camera its footprint extends, in metres.
func (v View) Reach() (float64, error) {
	s, err := v.resolve()
	return s.r, err
}

// Footprint is the ground a camera at p sees, a polygon in lon/lat with a closed
// counter-clockwise ring:
//
//   - Drone: a circle of radius alt·tan(FOV/2) around p, 24 vertices on the circle;
//   - Video: the sector from p along the heading, FOV wide and RangeM deep, its arc a
//     vertex every 15° or less; a circle of UnknownHeadingRadius without a heading (and a
//     circle of RangeM for a FOV of 360°).
//
// Vertices are offset from p along great circles (the haversine destination formula), so
// the shape is true on the ground at any latitude. Near the antimeridian longitudes may
// pass ±180°; Cover clamps them to the edge of the world. It fails with an *Error for a
// position that is not a finite WGS84 lon/lat, and with ErrView for a bad view.
func Footprint(p orb.Point, v View) (orb.Polygon, error) {
	if err := checkPosition(p); err != nil {
		return nil, err
	}
	s, err := v.resolve()
	if err != nil {
		return nil, err
	}
	return s.polygon(p), nil
}

func checkPosition(p orb.Point) error {
	if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
		return &Error{Reason: fmt.Sprintf("position %v is not a WGS84 lon/lat", p)}
	}
	return nil
}

func (s shape) polygon(p orb.Point) orb.Polygon {
	if s.fov >= 360 {
		ring := make(orb.Ring, footprintVertices+1)
		for i := range footprintVertices {
			ring[i] = destination(p, -float64(i)*360/footprintVertices, s.r) // counter-clockwise
		}
		ring[footprintVertices] = ring[0]
		return orb.Polygon{ring}
	}
	steps := max(1, int(math.Ceil(s.fov*footprintVertices/360-1e-9)))
	ring := make(orb.Ring, 0, steps+3)
	ring = append(ring, p)
	for i := 0; i <= steps; i++ { // right edge to left edge: counter-clockwise after the apex
		ring = append(ring, destination(p, s.heading+s.fov/2-float64(i)*s.fov/float64(steps), s.r))
	}
	return orb.Polygon{append(ring, p)}
}

// destination is the point dist metres from p along the great circle leaving p at bearing
// degrees clockwise from north, on a sphere of radius orb.EarthRadius (as Distance uses).
func destination(p orb.Point, bearing, dist float64) orb.Point {
	const rad = math.Pi / 180
	d := dist / orb.EarthRadius
	sinD, cosD := math.Sincos(d)
	sinB, cosB := math.Sincos(bearing * rad)
	sinLat, cosLat := math.Sincos(p[1] * rad)
	sinLat2 := max(-1, min(sinLat*cosD+cosLat*sinD*cosB, 1))
	lon := p[0]*rad + math.Atan2(sinB*sinD*cosLat, cosD-sinLat*sinLat2)
	return orb.Point{lon / rad, math.Asin(sinLat2) / rad}
}

// FootprintCells returns, sorted, the cells at zoom z (clamped to 0..MaxZoom) that the
// camera at p sees: every cell whose polygon intersects the Footprint. It uses Cover, which
// is exact for the footprint polygon (edges straight in Web Mercator; at footprint sizes
// that differs from the great-circle edges by under a millimetre) and costs a few
// microseconds for a zoom-18 footprint. It fails like Footprint, and with ErrTooManyCells
// beyond 65,536 cells (a zoom far finer than the footprint, or a footprint round a pole,
// which spans every column of Web Mercator's last row).
func FootprintCells(p orb.Point, v View, z int) ([]Cell, error) {
	poly, err := Footprint(p, v)
	if err != nil {
		return nil, err
	}
	return Cover(poly, z, maxFootprintCells)
}

// SweepConfig sets how SweepCells follows a moving camera.
type SweepConfig struct {
	// Raster is the cell zoom and the longest steps bridged, as for Rasterize.
	Raster RasterConfig
	// View is the camera. Its Heading and Alt hold at every fix, unless FixHeading or FixAlt.
	View View
	// FixHeading takes each fix's Heading as the camera's (a camera that reports its
	// compass heading); a NaN one is unknown.
	FixHeading bool
	// FixAlt takes each fix's Alt as the drone's height above ground (drone apps report
	// the height above the take-off point; Fix.Alt from a GPX file is above sea level).
	FixAlt bool
}

// DefaultSweep follows a drone of unknown height with zoom-18 cells and Rasterize's gaps.
var DefaultSweep = SweepConfig{Raster: DefaultRaster, View: View{Mode: Drone}}

// maxSweepSamples bounds the footprints drawn along one step.
const maxSweepSamples = 256

// SweepCells returns the cells a moving camera saw along a track (filtered, in time
// order): each cell once, with the first time it was seen, in order of that time (then
// key). It is the union of the footprints at every fix, and along each step that
// Rasterize bridges (at most Raster.MaxGap and Raster.MaxStep, and not across the
// antimeridian) of footprints sampled every s metres, s = min(reach, cell width)/2 but
// at least 1/8 of a cell, with positions, times, headings (the shorter way round) and
// heights interpolated; the cells Rasterize walks, under the camera, count as seen when
// entered. So consecutive footprints overlap by at least half their reach (for reaches
// over 1/16 of a cell: 8 m at zoom 18), and a cell is missed only if the footprint
// grazes it by less than s/2 between two samples. Across a gap only the fixes at its ends
// count. Fixes that are not a finite WGS84 lon/lat, or lie beyond Web Mercator's
// ±85.0511°, are skipped. It fails with ErrView for
// a bad view, and with ErrTooManyCells if a footprint needs more than 65,536 cells.
func SweepCells(fixes []Fix, c SweepConfig) ([]Visit, error) {
	if _, err := c.View.resolve(); err != nil {
		return nil, err
	}
	sw := sweeper{c: c, z: clampZoom(c.Raster.Zoom), seen: make(map[Cell]time.Time)}
	var valid []Fix
	for _, f := range fixes {
		if checkPosition(f.Point) == nil && math.Abs(f.Point[1]) <= maxMercatorLat {
			valid = append(valid, f)
		}
	}
	for _, v := range Rasterize(valid, c.Raster) {
		sw.see(v.Cell, v.T)
	}
	for i, f := range valid {
		if i > 0 && sw.bridges(valid[i-1], f) {
			if err := sw.step(valid[i-1], f); err != nil {
				return nil, err
			}
		}
		if err := sw.footprint(f.Point, sw.view(f), f.T); err != nil {
			return nil, err
		}
	}
	out := make([]Visit, 0, len(sw.seen))
	for cell, t := range sw.seen {
		out = append(out, Visit{Cell: cell, T: t})
	}
	slices.SortFunc(out, func(a, b Visit) int {
		return cmp.Or(a.T.Compare(b.T), cmp.Compare(a.Cell, b.Cell))
	})
	return out, nil
}

type sweeper struct {
	c    SweepConfig
	z    int
	seen map[Cell]time.Time
}

func (sw *sweeper) see(c Cell, t time.Time) {
	if old, ok := sw.seen[c]; !ok || t.Before(old) {
		sw.seen[c] = t
	}
}

// view is the camera at fix f.
func (sw *sweeper) view(f Fix) View {
	v := sw.c.View
	if sw.c.FixHeading {
		v.Heading = &f.Heading
	}
	if sw.c.FixAlt {
		v.Alt = &f.Alt
	}
	return v
}

func (sw *sweeper) footprint(p orb.Point, v View, t time.Time) error {
	cells, err := FootprintCells(p, v, sw.z)
	if err != nil {
		return err
	}
	for _, c := range cells {
		sw.see(c, t)
	}
	return nil
}

// bridges reports whether the step a→b is swept: Rasterize's bounds, and not across the
// antimeridian (where interpolating longitudes would go round the world).
func (sw *sweeper) bridges(a, b Fix) bool {
	dt := b.T.Sub(a.T)
	return dt >= 0 && dt <= sw.c.Raster.MaxGap && Distance(a.Point, b.Point) <= sw.c.Raster.MaxStep &&
		math.Abs(b.Point[0]-a.Point[0]) <= 180
}

// step draws the footprints strictly between fixes a and b.
func (sw *sweeper) step(a, b Fix) error {
	va, vb := sw.view(a), sw.view(b)
	sa, _ := va.resolve()
	sb, _ := vb.resolve()
	lat := max(-maxMercatorLat, min((a.Point[1]+b.Point[1])/2, maxMercatorLat))
	cell := 2 * math.Pi * orb.EarthRadius * math.Cos(lat*math.Pi/180) / math.Ldexp(1, sw.z)
	s := max(min(sa.r, sb.r, cell)/2, cell/8)
	n := min(int(math.Ceil(Distance(a.Point, b.Point)/s)), maxSweepSamples)
	dt := float64(b.T.Sub(a.T))
	for k := 1; k < n; k++ {
		f := float64(k) / float64(n)
		p := orb.Point{a.Point[0] + f*(b.Point[0]-a.Point[0]), a.Point[1] + f*(b.Point[1]-a.Point[1])}
		if err := sw.footprint(p, between(va, vb, f), a.T.Add(time.Duration(f*dt))); err != nil {
			return err
		}
	}
	return nil
}

// between is the view a fraction f of the way from va to vb: heading and height
// interpolated when both ends know them, otherwise the nearer end's.
func between(va, vb View, f float64) View {
	v := va
	if f >= 0.5 {
		v = vb
	}
	if known(va.Heading) && known(vb.Heading) {
		d := math.Remainder(*vb.Heading-*va.Heading, 360) // −180..180: the shorter turn
		h := *va.Heading + f*d
		v.Heading = &h
	}
	if known(va.Alt) && known(vb.Alt) {
		h := *va.Alt + f*(*vb.Alt-*va.Alt)
		v.Alt = &h
	}
	return v
}

func known(p *float64) bool { return p != nil && fpFinite(*p) }
