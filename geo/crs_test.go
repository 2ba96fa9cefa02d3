package geo

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// Reference pairs of the public formula: eviltransform's test vectors and coordtransform's
// example (WGS84 → GCJ-02).
var gcjVectors = []struct {
	name     string
	wgs, gcj orb.Point
}{
	{"Shanghai", orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}},
	{"Shenzhen", orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}},
	{"Beijing", orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}},
	{"Tiananmen", orb.Point{116.404, 39.915}, orb.Point{116.41024449916938, 39.91640428150164}},
}

func TestToGCJ02(t *testing.T) {
	for _, v := range gcjVectors {
		t.Run(v.name, func(t *testing.T) {
			got := ToGCJ02(v.wgs)
			if !float64Near(got[0], v.gcj[0], 1e-9) || !float64Near(got[1], v.gcj[1], 1e-9) {
				t.Errorf("ToGCJ02(%v) = %v, want %v", v.wgs, got, v.gcj)
			}
		})
	}
}

func TestFromGCJ02(t *testing.T) {
	for _, v := range gcjVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := FromGCJ02(v.gcj); !pointNear(got, v.wgs, 0.01) {
				t.Errorf("FromGCJ02(%v) = %v, %.3f m from %v", v.gcj, got, Distance(got, v.wgs), v.wgs)
			}
		})
	}
}

// TestGCJ02RoundTrip: over random positions in China, FromGCJ02 inverts ToGCJ02 to a millimetre.
func TestGCJ02RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for range 20000 {
		p := orb.Point{73 + r.Float64()*62, 18 + r.Float64()*36}
		worst = max(worst, Distance(FromGCJ02(ToGCJ02(p)), p))
	}
	if worst > 0.001 {
		t.Errorf("round trip error up to %.4f m", worst)
	}
}

func TestGCJ02OutsideChina(t *testing.T) {
	for _, p := range []orb.Point{{8.54, 47.37}, {-74, 40.7}, {140, 35.7}, {72, 30}} {
		if ToGCJ02(p) != p || FromGCJ02(p) != p {
			t.Errorf("%v moved", p)
		}
	}
}

// TestFromGCJ02Boundaries converts every vertex of the published (GCJ-02) county outlines
// and compares it with the same vertex of the WGS84 conversion in testdata, which is
// rounded to 7 decimals (≈ 1 cm).
func TestFromGCJ02Boundaries(t *testing.T) {
	worst, n := 0.0, 0
	for _, county := range counties {
		gcj, wgs := readBoundary(t, county+".gcj02"), readBoundary(t, county+".wgs84")
		got := ToWGS84(gcj, GCJ02).(orb.MultiPolygon)
		for i := range got {
			for j := range got[i] {
				for k, p := range got[i][j] {
					d := Distance(p, wgs[i][j][k])
					worst, n = max(worst, d), n+1
					if d > 0.5 {
						t.Fatalf("%s /%d/%d/%d: %v is %.3f m from %v", county, i, j, k, p, d, wgs[i][j][k])
					}
				}
			}
		}
	}
	t.Logf("%d vertices, largest distance %.4f m", n, worst)
}

func TestToWGS84CopiesTheGeometry(t *testing.T) {
	in := orb.LineString{{121.531541859215, 31.17530398364597}}
	out := ToWGS84(in, GCJ02).(orb.LineString)
	if in[0] != (orb.Point{121.531541859215, 31.17530398364597}) {
		t.Error("input changed")
	}
	if !pointNear(out[0], gcjVectors[0].wgs, 0.01) {
		t.Errorf("got %v", out[0])
	}
	if ToWGS84(nil, GCJ02) != nil || ToWGS84(orb.Polygon(nil), GCJ02) != nil {
		t.Error("nil geometry should stay nil")
	}
}

func TestParseCRS(t *testing.T) {
	cases := []struct {
		in      string
		want    CRS
		wantErr bool
	}{
		{"", WGS84, false},
		{"wgs84", WGS84, false},
		{"EPSG:4326", WGS84, false},
		{"urn:ogc:def:crs:OGC:1.3:CRS84", WGS84, false},
		{"gcj-02", GCJ02, false},
		{" GCJ02 ", GCJ02, false},
		{"BD-09", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCRS(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseCRS(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}
