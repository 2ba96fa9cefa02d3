package sync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// push500Body is a push body as BenchmarkPush500 (handlers) sends it: 25 track.points
// mutations of 20 fixes, 500 fixes in all (bench/codecs decodes the same bytes with other
// codecs).
func push500Body() []byte {
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

// BenchmarkDecodePush500 is the JSON work of one 500-fix push as the server does it with
// encoding/json: the body into a PushRequest (strict, as handlers.decodeJSON), then each
// payload through the track.points decoder (decodeStrict, normalize, json.Marshal of the
// fact) and compact for the hash. bench/codecs repeats it with goccy/go-json and
// segmentio/encoding.
func BenchmarkDecodePush500(b *testing.B) {
	body := push500Body()
	dec := builtinTypes()["track.points"]
	in := Input{ReceivedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var req PushRequest
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		if err := d.Decode(&req); err != nil {
			b.Fatal(err)
		}
		for _, m := range req.Mutations {
			in.Payload = m.Payload
			if _, _, err := dec(in); err != nil {
				b.Fatal(err)
			}
			_ = compact(m.Payload)
		}
	}
	b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
}
