// Package codecs compares encoding/json (what beatgrid uses) with goccy/go-json and
// segmentio/encoding on the JSON work of one 500-fix push, and checks the strict semantics
// the push path depends on. Run it with bench/run-all.sh, or here:
//
//	go test -run TestStrict -v . && go test -run '^$' -bench . -count 5 -cpu 1
package codecs

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bgsync "github.com/beatgrid/beatgrid/sync"
	goccy "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"
)

// codec is one library's strict decode (one JSON value, unknown fields refused), marshal and
// compact.
type codec struct {
	name    string
	strict  func(data []byte, v any) error
	marshal func(v any) ([]byte, error)
	compact func(dst *bytes.Buffer, src []byte) error
}

var codecs = []codec{
	{"encoding/json", func(data []byte, v any) error {
		d := stdjson.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			return err
		}
		if d.More() {
			return errors.New("more than one JSON value")
		}
		return nil
	}, stdjson.Marshal, stdjson.Compact},
	{"goccy/go-json", func(data []byte, v any) error {
		d := goccy.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			return err
		}
		if d.More() {
			return errors.New("more than one JSON value")
		}
		return nil
	}, goccy.Marshal, goccy.Compact},
	{"segmentio/encoding", func(data []byte, v any) error {
		rest, err := segjson.Parse(data, v, segjson.DisallowUnknownFields)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return errors.New("more than one JSON value")
		}
		return nil
	}, segjson.Marshal, segjson.Compact},
}

// push500 is the body BenchmarkPush500 (handlers) and BenchmarkDecodePush500 (sync) send: 25
// track.points mutations of 20 fixes.
func push500() []byte {
	var b bytes.Buffer
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	b.WriteString(`{"device_time":"2026-11-25T09:00:00Z","mutations":[`)
	for m := range 25 {
		if m > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"0193a7c0-0000-7000-8000-%012d","seq":%d,"type":"track.points","occurred_at":"%s","payload":{"patrol_id":"0193a7c0-0000-7000-8000-000000000001","points":[`,
			m+1, m+1, t0.Format(time.RFC3339))
		for i := range 20 {
			if i > 0 {
				b.WriteByte(',')
			}
			n := m*20 + i
			fmt.Fprintf(&b, `{"lon":%.5f,"lat":29.45,"t":"%s","acc":5}`, 121.9+float64(n)*1e-5,
				t0.Add(time.Duration(n)*5*time.Second).Format(time.RFC3339))
		}
		b.WriteString(`]}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// decodePush is the codec work of one push: the body strictly into a PushRequest, each
// payload strictly into TrackPoints, the fact marshalled back, the payload compacted for its
// hash (normalize, which uses no codec, is left out).
func decodePush(c codec, body []byte) (int, error) {
	var req bgsync.PushRequest
	if err := c.strict(body, &req); err != nil {
		return 0, err
	}
	n := 0
	var buf bytes.Buffer
	for _, m := range req.Mutations {
		var tp bgsync.TrackPoints
		if err := c.strict(m.Payload, &tp); err != nil {
			return 0, err
		}
		if _, err := c.marshal(&tp); err != nil {
			return 0, err
		}
		buf.Reset()
		if err := c.compact(&buf, m.Payload); err != nil {
			return 0, err
		}
		n += len(tp.Points)
	}
	return n, nil
}

// BenchmarkPush500Codec: the codec work of one 500-fix push, per codec.
func BenchmarkPush500Codec(b *testing.B) {
	body := push500()
	for _, c := range codecs {
		b.Run(strings.ReplaceAll(c.name, "/", "-"), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if n, err := decodePush(c, body); err != nil || n != 500 {
					b.Fatalf("%d fixes, %v", n, err)
				}
			}
			b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
		})
	}
}

// BenchmarkPush500DecodeOnly: the body and the payloads decoded, no marshal or compact.
func BenchmarkPush500DecodeOnly(b *testing.B) {
	body := push500()
	for _, c := range codecs {
		b.Run(strings.ReplaceAll(c.name, "/", "-"), func(b *testing.B) {
			for b.Loop() {
				var req bgsync.PushRequest
				if err := c.strict(body, &req); err != nil {
					b.Fatal(err)
				}
				for _, m := range req.Mutations {
					var tp bgsync.TrackPoints
					if err := c.strict(m.Payload, &tp); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestSame: every codec decodes the body to the same request and facts as encoding/json.
func TestSame(t *testing.T) {
	body := push500()
	var want bgsync.PushRequest
	if err := codecs[0].strict(body, &want); err != nil {
		t.Fatal(err)
	}
	for _, c := range codecs[1:] {
		var got bgsync.PushRequest
		if err := c.strict(body, &got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i := range want.Mutations {
			var a, b bgsync.TrackPoints
			_ = codecs[0].strict(want.Mutations[i].Payload, &a)
			if err := c.strict(got.Mutations[i].Payload, &b); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			fa, _ := stdjson.Marshal(&a)
			fb, _ := c.marshal(&b)
			if !bytes.Equal(fa, fb) {
				t.Fatalf("%s: fact %d differs:\n%s\n%s", c.name, i, fa, fb)
			}
		}
	}
}

// strictCases are payloads the push path must refuse (or read as encoding/json does), with
// the field the error must name.
var strictCases = []struct {
	name, payload, field string
	ok                   bool
}{
	{"unknown field", `{"patrol_id":"0193a7c0-0000-7000-8000-000000000001","points":[],"evil":1}`, "evil", false},
	{"unknown nested field", `{"patrol_id":"p","points":[{"lon":1,"lat":2,"t":"2026-11-25T08:00:00Z","x":1}]}`, "x", false},
	{"wrong type", `{"patrol_id":"p","points":[{"lon":"1","lat":2,"t":"2026-11-25T08:00:00Z"}]}`, "lon", false},
	{"wrong type top", `{"patrol_id":7,"points":[]}`, "patrol_id", false},
	{"bad time", `{"patrol_id":"p","points":[{"lon":1,"lat":2,"t":"yesterday"}]}`, "", false},
	{"two values", `{"patrol_id":"p","points":[]} {}`, "", false},
	{"truncated", `{"patrol_id":"p","points":[`, "", false},
	{"duplicate key (encoding/json: last wins)", `{"patrol_id":"a","patrol_id":"b","points":[]}`, "", true},
	{"case-folded key (encoding/json: matches)", `{"PATROL_ID":"a","points":[]}`, "", true},
	{"operator as string", `{"patrol_id":{"$gt":""},"points":[]}`, "patrol_id", false},
}

// TestStrict prints how each codec handles strictCases and fails where one is weaker than
// encoding/json: accepts what it refuses, or reads a key differently.
func TestStrict(t *testing.T) {
	for _, tc := range strictCases {
		var ref bgsync.TrackPoints
		refErr := codecs[0].strict([]byte(tc.payload), &ref)
		for _, c := range codecs {
			var got bgsync.TrackPoints
			err := c.strict([]byte(tc.payload), &got)
			names := tc.field == "" || (err != nil && strings.Contains(err.Error(), tc.field))
			t.Logf("%-44s %-20s err=%v names-field=%v patrol_id=%q", tc.name, c.name, err, names, got.PatrolID)
			var typ *stdjson.UnmarshalTypeError
			if err != nil && tc.field != "" && !errors.As(err, &typ) && strings.Contains(tc.name, "type") {
				t.Logf("    %s: not an *encoding/json.UnmarshalTypeError (%T): handlers' field mapping would not see the field", c.name, err)
			}
			switch {
			case (err == nil) != (refErr == nil):
				t.Errorf("%s: %s: err %v, encoding/json %v", c.name, tc.name, err, refErr)
			case err == nil && got.PatrolID != ref.PatrolID:
				t.Errorf("%s: %s: patrol_id %q, encoding/json %q", c.name, tc.name, got.PatrolID, ref.PatrolID)
			case !names:
				t.Errorf("%s: %s: the error does not name %q: %v", c.name, tc.name, tc.field, err)
			}
		}
	}
}
