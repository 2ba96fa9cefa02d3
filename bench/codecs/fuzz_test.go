package codecs

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	bgsync "github.com/beatgrid/beatgrid/sync"
)

// FuzzStrictSame decodes any payload as a track.points payload with every codec: none may
// panic; on valid JSON (a payload is always valid JSON: it is a RawMessage of the decoded
// body) each must accept exactly what encoding/json accepts, and give the same fact.
//
//	go test -run '^$' -fuzz FuzzStrictSame -fuzztime 60s .
func FuzzStrictSame(f *testing.F) {
	for _, tc := range strictCases {
		f.Add([]byte(tc.payload))
	}
	var req bgsync.PushRequest
	_ = stdjson.Unmarshal(push500(), &req)
	f.Add([]byte(req.Mutations[0].Payload))
	f.Add([]byte(`{"\`))
	f.Add([]byte(`{"patrol_id\q":"a"}`))
	f.Add([]byte(`{"patrol_\u0069d":"a","points":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref bgsync.TrackPoints
		refErr := codecs[0].strict(data, &ref)
		want, _ := stdjson.Marshal(&ref)
		for _, c := range codecs[1:] {
			var got bgsync.TrackPoints
			err := c.strict(append([]byte(nil), data...), &got)
			if !stdjson.Valid(data) {
				continue // only no panic
			}
			if (err == nil) != (refErr == nil) {
				t.Fatalf("%s: err %v, encoding/json %v", c.name, err, refErr)
			}
			if err == nil {
				if b, _ := stdjson.Marshal(&got); !bytes.Equal(b, want) {
					t.Fatalf("%s: fact %s, encoding/json %s", c.name, b, want)
				}
			}
		}
	})
}
