package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/beatgrid/beatgrid/geo"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// MaxTrackPoints bounds the points of one track.points mutation; a batch with more is refused
// whole (the terminal splits it).
const MaxTrackPoints = 2000

// Payloads of the mutation types (API.md, "Sync"). Each normalizes itself in place: positions
// converted to WGS84 and rounded to 1e-7° (~1 cm), times to UTC; the canonical fact is its
// JSON encoding. It returns when the fact happened by the device's clock.
type payload interface {
	normalize(in Input) (time.Time, *Rejection)
}

// decoder makes the DecodeFunc of payload type T.
func decoder[T any, PT interface {
	*T
	payload
}]() DecodeFunc {
	return func(in Input) ([]byte, time.Time, error) {
		var p T
		if err := decodeStrict(in.Payload, &p); err != nil {
			return nil, time.Time{}, err
		}
		t, rej := PT(&p).normalize(in)
		switch {
		case rej != nil && rej.Limit != nil:
			return nil, time.Time{}, rej.Limit
		case rej != nil:
			return nil, time.Time{}, rej
		}
		fact, err := json.Marshal(&p)
		return fact, t, err
	}
}

func builtinTypes() map[string]DecodeFunc {
	return map[string]DecodeFunc{
		"patrol.start":      decoder[PatrolStart](),
		"patrol.end":        decoder[PatrolEnd](),
		"track.points":      decoder[TrackPoints](),
		"checkpoint.punch":  decoder[CheckpointPunch](),
		"kiosk.checkin":     decoder[KioskDuty](),
		"kiosk.checkout":    decoder[KioskDuty](),
		"inspection.submit": decoder[InspectionSubmit](),
		"hazard.report":     decoder[HazardReport](),
		"hazard.rectify":    decoder[HazardRectify](),
		"task.feedback":     decoder[TaskFeedback](),
	}
}

// PatrolStart starts a patrol session.
type PatrolStart struct {
	PatrolID string    `json:"patrol_id"`
	Mode     string    `json:"mode"`
	RouteID  string    `json:"route_id,omitempty"`
	T        time.Time `json:"t"`
}

func (p *PatrolStart) normalize(in Input) (time.Time, *Rejection) {
	return first(
		checkUUID("/payload/patrol_id", p.PatrolID),
		checkEnum("/payload/mode", p.Mode, "foot", "vehicle", "video", "drone"),
		checkOptionalID("/payload/route_id", p.RouteID),
	).orTime("/payload/t", &p.T, in)
}

// PatrolEnd ends a patrol session.
type PatrolEnd struct {
	PatrolID string    `json:"patrol_id"`
	T        time.Time `json:"t"`
}

func (p *PatrolEnd) normalize(in Input) (time.Time, *Rejection) {
	return first(checkUUID("/payload/patrol_id", p.PatrolID)).orTime("/payload/t", &p.T, in)
}

// TrackPoints is a batch of GPS fixes of a patrol.
type TrackPoints struct {
	PatrolID string       `json:"patrol_id"`
	CRS      string       `json:"crs,omitempty"` // as sent; the stored fact is always WGS84
	Points   []TrackPoint `json:"points"`
}

// TrackPoint is one fix. Optional readings are pointers: absent differs from zero.
type TrackPoint struct {
	Lon     float64   `json:"lon"`
	Lat     float64   `json:"lat"`
	T       time.Time `json:"t"`
	Acc     *float64  `json:"acc,omitempty"`
	Speed   *float64  `json:"speed,omitempty"`
	Heading *float64  `json:"heading,omitempty"`
	Alt     *float64  `json:"alt,omitempty"`
}

func (p *TrackPoints) normalize(in Input) (time.Time, *Rejection) {
	if r := first(checkUUID("/payload/patrol_id", p.PatrolID)); r != nil {
		return time.Time{}, r
	}
	if len(p.Points) > MaxTrackPoints {
		return time.Time{}, &Rejection{Limit: &LimitError{Limit: "max_track_points", Max: MaxTrackPoints, Got: len(p.Points)}}
	}
	crs, err := geo.ParseCRS(p.CRS)
	if err != nil {
		return time.Time{}, reject(CodeInvalidPayload, "/payload/crs", "must be wgs84 or gcj02")
	}
	p.CRS = ""
	switch {
	case len(p.Points) == 0:
		return time.Time{}, reject(CodeInvalidPayload, "/payload/points", "no points")
	}
	var earliest time.Time
	for i := range p.Points {
		pt := &p.Points[i]
		at := "/payload/points/" + strconv.Itoa(i)
		if r := normalizePosition(at, &pt.Lon, &pt.Lat, crs); r != nil {
			return time.Time{}, r
		}
		if r := checkTime(at+"/t", &pt.T, in); r != nil {
			return time.Time{}, r
		}
		if earliest.IsZero() || pt.T.Before(earliest) {
			earliest = pt.T
		}
	}
	return earliest, nil
}

// CheckpointPunch is a tag read at a checkpoint, chained to the device's previous punch.
type CheckpointPunch struct {
	PatrolID     string    `json:"patrol_id"`
	CheckpointID string    `json:"checkpoint_id"`
	Tag          string    `json:"tag"`
	Lon          float64   `json:"lon"`
	Lat          float64   `json:"lat"`
	CRS          string    `json:"crs,omitempty"`
	Acc          *float64  `json:"acc,omitempty"`
	T            time.Time `json:"t"`
	PrevHash     string    `json:"prev_hash"`
	MockLocation bool      `json:"mock_location,omitempty"`
}

func (p *CheckpointPunch) normalize(in Input) (time.Time, *Rejection) {
	r := first(checkUUID("/payload/patrol_id", p.PatrolID), checkID("/payload/checkpoint_id", p.CheckpointID),
		checkText("/payload/tag", p.Tag, 1, 200), checkHashOrEmpty("/payload/prev_hash", p.PrevHash),
		positionIn("/payload", &p.Lon, &p.Lat, &p.CRS))
	return r.orTime("/payload/t", &p.T, in)
}

// KioskDuty is a check-in or check-out at a kiosk post.
type KioskDuty struct {
	KioskID string    `json:"kiosk_id"`
	T       time.Time `json:"t"`
}

func (p *KioskDuty) normalize(in Input) (time.Time, *Rejection) {
	return first(checkID("/payload/kiosk_id", p.KioskID)).orTime("/payload/t", &p.T, in)
}

// InspectionSubmit is a venue inspection with its checklist answers and photos.
type InspectionSubmit struct {
	InspectionID     string    `json:"inspection_id"`
	VenueID          string    `json:"venue_id"`
	ChecklistID      string    `json:"checklist_id"`
	ChecklistVersion int       `json:"checklist_version"`
	Answers          []Answer  `json:"answers"`
	Photos           []string  `json:"photos"`
	Lon              float64   `json:"lon"`
	Lat              float64   `json:"lat"`
	CRS              string    `json:"crs,omitempty"`
	T                time.Time `json:"t"`
}

// Answer answers one checklist item: a JSON boolean, number or string.
type Answer struct {
	Item  string          `json:"item"`
	Value json.RawMessage `json:"value"`
}

func (p *InspectionSubmit) normalize(in Input) (time.Time, *Rejection) {
	r := first(checkUUID("/payload/inspection_id", p.InspectionID), checkID("/payload/venue_id", p.VenueID),
		checkID("/payload/checklist_id", p.ChecklistID), checkAnswers(p.Answers), checkPhotos(p.Photos),
		positionIn("/payload", &p.Lon, &p.Lat, &p.CRS))
	if r == nil && p.ChecklistVersion < 1 {
		r = reject(CodeInvalidPayload, "/payload/checklist_version", "must be 1 or more")
	}
	return r.orTime("/payload/t", &p.T, in)
}

// HazardReport reports a safety hazard, at a venue or anywhere.
type HazardReport struct {
	HazardID    string    `json:"hazard_id"`
	VenueID     string    `json:"venue_id,omitempty"`
	Description string    `json:"description"`
	Severity    string    `json:"severity"`
	Photos      []string  `json:"photos"`
	Lon         float64   `json:"lon"`
	Lat         float64   `json:"lat"`
	CRS         string    `json:"crs,omitempty"`
	T           time.Time `json:"t"`
}

func (p *HazardReport) normalize(in Input) (time.Time, *Rejection) {
	r := first(checkUUID("/payload/hazard_id", p.HazardID), checkOptionalID("/payload/venue_id", p.VenueID),
		checkText("/payload/description", p.Description, 1, 4000),
		checkEnum("/payload/severity", p.Severity, "low", "medium", "high", "critical"),
		checkPhotos(p.Photos), positionIn("/payload", &p.Lon, &p.Lat, &p.CRS))
	return r.orTime("/payload/t", &p.T, in)
}

// HazardRectify records rectification work on a hazard.
type HazardRectify struct {
	HazardID string    `json:"hazard_id"`
	Action   string    `json:"action"`
	Note     string    `json:"note"`
	Photos   []string  `json:"photos"`
	T        time.Time `json:"t"`
}

func (p *HazardRectify) normalize(in Input) (time.Time, *Rejection) {
	r := first(checkID("/payload/hazard_id", p.HazardID), checkText("/payload/action", p.Action, 1, 100),
		checkText("/payload/note", p.Note, 0, 4000), checkPhotos(p.Photos))
	return r.orTime("/payload/t", &p.T, in)
}

// TaskFeedback reports on a dispatched task.
type TaskFeedback struct {
	TaskID string    `json:"task_id"`
	Status string    `json:"status"`
	Note   string    `json:"note"`
	Photos []string  `json:"photos"`
	T      time.Time `json:"t"`
}

func (p *TaskFeedback) normalize(in Input) (time.Time, *Rejection) {
	r := first(checkID("/payload/task_id", p.TaskID), checkEnum("/payload/status", p.Status, "done", "partial", "unable"),
		checkText("/payload/note", p.Note, 0, 4000), checkPhotos(p.Photos))
	return r.orTime("/payload/t", &p.T, in)
}

// Checks. Each returns nil or the first problem.

// first returns the first non-nil rejection.
func first(rs ...*Rejection) *Rejection {
	for _, r := range rs {
		if r != nil {
			return r
		}
	}
	return nil
}

// orTime returns r if set, else checks the time field.
func (r *Rejection) orTime(field string, t *time.Time, in Input) (time.Time, *Rejection) {
	if r != nil {
		return time.Time{}, r
	}
	if r := checkTime(field, t, in); r != nil {
		return time.Time{}, r
	}
	return *t, nil
}

// Device times are believed within these bounds; beyond, the fix is rejected, not flagged.
var (
	earliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxAhead     = 24 * time.Hour
)

func checkTime(field string, t *time.Time, in Input) *Rejection {
	switch {
	case t.IsZero():
		return reject(CodeInvalidPayload, field, "required (RFC 3339)")
	case t.Before(earliestTime) || t.After(in.ReceivedAt.Add(maxAhead)):
		return reject(CodeInvalidPayload, field, "%s is not a plausible time", t.Format(time.RFC3339))
	}
	*t = t.UTC()
	return nil
}

func checkUUID(field, v string) *Rejection {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return reject(CodeInvalidPayload, field, "must be a UUID")
	}
	return nil
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func checkID(field, v string) *Rejection {
	if !idRE.MatchString(v) {
		return reject(CodeInvalidPayload, field, "must be an id (1 to 128 of A-Z a-z 0-9 . _ : -)")
	}
	return nil
}

func checkOptionalID(field, v string) *Rejection {
	if v == "" {
		return nil
	}
	return checkID(field, v)
}

func checkEnum(field, v string, allowed ...string) *Rejection {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return reject(CodeInvalidPayload, field, "must be one of %v", allowed)
}

func checkText(field, v string, minLen, maxLen int) *Rejection {
	n := utf8.RuneCountInString(v)
	if n < minLen || n > maxLen {
		return reject(CodeInvalidPayload, field, "must have %d to %d characters", minLen, maxLen)
	}
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkHashOrEmpty(field, v string) *Rejection {
	if v != "" && !sha256RE.MatchString(v) {
		return reject(CodeInvalidPayload, field, "must be a lower-case hex sha256 or empty")
	}
	return nil
}

// MaxPhotos bounds the photos of one record.
const MaxPhotos = 20

func checkPhotos(photos []string) *Rejection {
	if len(photos) > MaxPhotos {
		return reject(CodeInvalidPayload, "/payload/photos", "more than %d photos", MaxPhotos)
	}
	for i, p := range photos {
		if !sha256RE.MatchString(p) {
			return reject(CodeInvalidPayload, "/payload/photos/"+strconv.Itoa(i), "must be the lower-case hex sha256 of the photo")
		}
	}
	return nil
}

// MaxAnswers bounds the answers of one inspection.
const MaxAnswers = 200

func checkAnswers(answers []Answer) *Rejection {
	if len(answers) > MaxAnswers {
		return reject(CodeInvalidPayload, "/payload/answers", "more than %d answers", MaxAnswers)
	}
	for i, a := range answers {
		at := "/payload/answers/" + strconv.Itoa(i)
		if r := checkText(at+"/item", a.Item, 1, 100); r != nil {
			return r
		}
		if len(a.Value) == 0 || a.Value[0] == '{' || a.Value[0] == '[' || len(a.Value) > 4000 {
			return reject(CodeInvalidPayload, at+"/value", "must be a boolean, number or string of at most 4000 bytes")
		}
	}
	return nil
}

// positionIn normalizes the lon, lat (and crs) fields of a payload.
func positionIn(at string, lon, lat *float64, crsName *string) *Rejection {
	crs, err := geo.ParseCRS(*crsName)
	if err != nil {
		return reject(CodeInvalidPayload, at+"/crs", "must be wgs84 or gcj02")
	}
	*crsName = ""
	return normalizePosition(at, lon, lat, crs)
}

// normalizePosition validates lon, lat at path, converts them to WGS84 and rounds to 1e-7°.
func normalizePosition(at string, lon, lat *float64, crs geo.CRS) *Rejection {
	p := orb.Point{*lon, *lat}
	if err := geo.ValidPoint(p, at); err != nil {
		ge := err.(*geo.Error)
		return reject(CodeInvalidPayload, ge.Path, "%s", ge.Reason)
	}
	if crs == geo.GCJ02 {
		p = geo.FromGCJ02(p)
	}
	*lon, *lat = round7(p[0]), round7(p[1])
	return nil
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// ChainHash is the hash a terminal puts in its next punch's prev_hash: the lower-case hex
// sha256 of checkpoint_id, tag, t (RFC 3339 in UTC, with the fraction Go's RFC3339Nano
// gives) and prev_hash, each followed by a newline. The chain shows punches deleted or slipped
// in on the terminal.
func (p *CheckpointPunch) ChainHash() string {
	h := sha256.Sum256([]byte(p.CheckpointID + "\n" + p.Tag + "\n" + p.T.UTC().Format(time.RFC3339Nano) + "\n" + p.PrevHash + "\n"))
	return hex.EncodeToString(h[:])
}
