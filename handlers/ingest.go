package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/auth"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Tracking apps (OsmAnd, Traccar Client) send one fix a request and no Authorization header:
// the device's credential travels as the id, "<device_id>.<device_secret>". Each fix becomes a
// track.points mutation pushed through the sync engine on the device's behalf, so it gets
// what a terminal's push gets: exactly once, durable before the answer, folded into the
// patrol. The ids are made from the fix, so a request sent again is a duplicate:
//
//   - mutation id: UUIDv5 of (device id, fix time, lat, lon);
//   - patrol id:   UUIDv5 of (device id, UTC date of the fix): a day's fixes are one session;
//   - a patrol.start (mode from ?mode=, foot or vehicle, default vehicle) goes with a fix
//     when the fix would be the patrol's earliest start: the fold keeps the earliest, so the
//     session starts at its first fix whatever order the fixes arrive in.
//
// The mutations carry no sequence number (seq 0, PushRequest.Unsequenced): an app has no
// queue to number, and made-up numbers would show as gaps. The facts are scoped to the
// device's org unit and name no officer: a tracking app is signed in by no one.

const (
	maxIngestID    = 256 // bytes of the id parameter
	maxIngestValue = 40  // bytes of any other parameter
	maxIngestFixes = 100 // fixes of one JSON request (location as an array)
	knotMS         = 1852.0 / 3600
)

// ingestNS is the namespace of the ids made for ingested fixes.
var ingestNS = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:beatgrid:ingest:osmand"))

// Fix times are believed within these bounds (the engine's own, checked here first so that
// nothing implausible is stored as a rejection).
var (
	ingestEarliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	ingestAhead    = 24 * time.Hour
)

type ingestHandlers struct {
	auth   *auth.Service
	engine *bgsync.Engine
	starts startCache
	now    func() time.Time
}

func registerIngest(app *fiber.App, a *auth.Service, e *bgsync.Engine) {
	h := &ingestHandlers{auth: a, engine: e, starts: startCache{m: map[string]startKey{}}, now: time.Now}
	app.Get("/v1/ingest/osmand", noStore, h.osmand)
	app.Post("/v1/ingest/osmand", noStore, h.osmand)
}

// fix is one position as an app reports it, with the names its fields go by in errors.
type fix struct {
	t                        time.Time
	lon, lat                 float64
	acc, speed, heading, alt *float64 // speed in m/s
	names                    fixNames
}

type fixNames struct{ lat, lon, t string }

// ingestRequest is one request, whichever form it came in.
type ingestRequest struct {
	credential string // "<device_id>.<device_secret>"
	credField  string
	mode       string
	fixes      []fix
}

// osmand: GET or POST /v1/ingest/osmand. 200 with an empty body once every fix is durable
// (or was already stored); the apps look at the status only.
func (h *ingestHandlers) osmand(c *fiber.Ctx) error {
	if n := len(c.Body()); n > jsonLimit {
		return beatgrid.Errorf(beatgrid.ETOOLARGE, "The body has %d bytes; the limit is %d.", n, jsonLimit)
	}
	var (
		req *ingestRequest
		err error
	)
	if c.Method() == fiber.MethodPost && mediaType(c.Get(fiber.HeaderContentType)) == fiber.MIMEApplicationJSON {
		req, err = h.parseJSON(c)
	} else {
		req, err = h.parseForm(c)
	}
	if err != nil {
		return err
	}
	deviceID, secret, _ := strings.Cut(req.credential, ".")
	d, err := h.auth.VerifyDevice(c.UserContext(), c.IP(), deviceID, secret)
	if beatgrid.ErrorCode(err) == beatgrid.EUNAUTHORIZED {
		return beatgrid.Errorf(beatgrid.EUNAUTHORIZED,
			"Invalid device credential: send %s=<device_id>.<device_secret> of an enrolled, active device.", req.credField)
	} else if err != nil {
		return err
	}
	p := &beatgrid.Principal{DeviceID: d.ID, OrgUnitID: d.OrgUnitID}
	c.Locals(localPrincipal, p) // the request log names the device
	return h.push(c, p, req)
}

// push hands the fixes to the engine and reads its answers.
func (h *ingestHandlers) push(c *fiber.Ctx, p *beatgrid.Principal, req *ingestRequest) error {
	type pending struct {
		patrol string
		t      time.Time
	}
	var (
		ms     []bgsync.Incoming
		starts = map[int]pending{} // index in ms → the start it is
		names  = map[int]fixNames{}
	)
	for _, f := range req.fixes {
		patrolID := uuid.NewSHA1(ingestNS, []byte("patrol\x00"+p.DeviceID+"\x00"+f.t.Format(time.DateOnly))).String()
		if h.starts.earlier(patrolID, f.t, req.mode) {
			payload, err := json.Marshal(bgsync.PatrolStart{PatrolID: patrolID, Mode: req.mode, T: f.t})
			if err != nil {
				return fmt.Errorf("ingest: encode patrol.start: %w", err)
			}
			id := uuid.NewSHA1(ingestNS, []byte("start\x00"+patrolID+"\x00"+req.mode+"\x00"+f.t.Format(time.RFC3339Nano)))
			starts[len(ms)], names[len(ms)] = pending{patrolID, f.t}, f.names
			ms = append(ms, bgsync.Incoming{ID: id.String(), Type: "patrol.start", OccurredAt: f.t, Payload: payload})
		}
		payload, err := json.Marshal(bgsync.TrackPoints{PatrolID: patrolID, Points: []bgsync.TrackPoint{{
			Lon: f.lon, Lat: f.lat, T: f.t, Acc: f.acc, Speed: f.speed, Heading: f.heading, Alt: f.alt}}})
		if err != nil {
			return fmt.Errorf("ingest: encode track.points: %w", err)
		}
		names[len(ms)] = f.names
		ms = append(ms, bgsync.Incoming{ID: fixID(p.DeviceID, f).String(), Type: "track.points", OccurredAt: f.t, Payload: payload})
	}
	res, err := h.engine.Push(c.UserContext(), p, &bgsync.PushRequest{Mutations: ms, Unsequenced: true})
	if err != nil {
		return fmt.Errorf("ingest: push fixes of device %s: %w", p.DeviceID, err)
	}
	var refused error
	for i, r := range res.Results {
		switch {
		case r.Status == beatgrid.StatusApplied || r.Status == beatgrid.StatusDuplicate && r.OriginalStatus == beatgrid.StatusApplied:
			if s, ok := starts[i]; ok {
				h.starts.record(s.patrol, s.t, req.mode)
			}
		case r.Code == bgsync.CodeIDReused:
			// The same fix (time and place) was stored before with other readings (speed,
			// accuracy …): the first one stands.
			slog.DebugContext(c.UserContext(), "ingested fix repeated with other readings; the first stands",
				"device", p.DeviceID, "mutation", r.ID)
		case refused == nil:
			refused = beatgrid.FieldErrorf(ingestField(r.Field, names[i]), "%s", r.Detail)
		}
	}
	if refused != nil {
		return refused
	}
	c.Status(fiber.StatusOK)
	return nil
}

// fixID is the mutation id of a fix: the same fix sent again gets the same id.
func fixID(deviceID string, f fix) uuid.UUID {
	key := deviceID + "\x00" + f.t.Format(time.RFC3339Nano) + "\x00" +
		strconv.FormatFloat(round7(f.lat), 'f', -1, 64) + "\x00" + strconv.FormatFloat(round7(f.lon), 'f', -1, 64)
	return uuid.NewSHA1(ingestNS, []byte("fix\x00"+key))
}

// round7 rounds to 1e-7° (~1 cm), as the engine stores positions.
func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// ingestField names the parameter behind an engine rejection's field.
func ingestField(field string, n fixNames) string {
	switch {
	case strings.HasSuffix(field, "/lat"):
		return n.lat
	case strings.HasSuffix(field, "/lon"):
		return n.lon
	case strings.HasSuffix(field, "/t"):
		return n.t
	case field == "/payload/mode":
		return "mode"
	}
	return "/"
}

// startCache remembers, per patrol, the earliest start pushed and stored, ordered as the
// patrol fold orders starts (time, then mode). A fix brings a start only when it would be
// earlier: so the earliest start stored is the earliest fix, in any order of arrival, and a
// day of fixes stores a handful of starts, not one each. Forgetting (a restart, or the bound
// reached) only sends starts again; their ids are made from them, so repeats are duplicates.
type startCache struct {
	mu gosync.Mutex
	m  map[string]startKey
}

type startKey struct {
	t    time.Time
	mode string
}

const maxStartCache = 10000

func (k startKey) before(o startKey) bool {
	return k.t.Before(o.t) || k.t.Equal(o.t) && k.mode < o.mode
}

// earlier reports whether a start at t in mode would be the earliest of the patrol.
func (c *startCache) earlier(patrol string, t time.Time, mode string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[patrol]
	return !ok || (startKey{t, mode}).before(k)
}

// record notes a start stored.
func (c *startCache) record(patrol string, t time.Time, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[patrol]
	switch {
	case ok && !(startKey{t, mode}).before(k):
		return
	case !ok && len(c.m) >= maxStartCache:
		clear(c.m)
	}
	c.m[patrol] = startKey{t, mode}
}

// parseForm reads the OsmAnd form: query parameters, and for a POST also a url-encoded body
// (a parameter in both: the query's counts).
func (h *ingestHandlers) parseForm(c *fiber.Ctx) (*ingestRequest, error) {
	vals, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return nil, beatgrid.FieldErrorf("/", "the query string is malformed")
	}
	if body := c.Body(); c.Method() == fiber.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		form, err := url.ParseQuery(string(bytes.TrimSpace(body)))
		if err != nil {
			return nil, beatgrid.FieldErrorf("/", "the body is neither JSON nor a url-encoded form")
		}
		for k, v := range form {
			if _, ok := vals[k]; !ok {
				vals[k] = v
			}
		}
	}
	get := func(name string) string { return vals.Get(name) }
	req := &ingestRequest{credField: "id"}
	if req.credential, err = ingestCredential("id", get("id")); err != nil {
		return nil, err
	}
	if req.mode, err = ingestMode(get("mode")); err != nil {
		return nil, err
	}
	f := fix{names: fixNames{lat: "lat", lon: "lon", t: "timestamp"}}
	for _, v := range []struct {
		name string
		val  string
	}{{"lat", get("lat")}, {"lon", get("lon")}, {"timestamp", get("timestamp")}, {"speed", get("speed")},
		{"bearing", get("bearing")}, {"heading", get("heading")}, {"altitude", get("altitude")},
		{"accuracy", get("accuracy")}, {"batt", get("batt")}} {
		if len(v.val) > maxIngestValue {
			return nil, beatgrid.FieldErrorf(v.name, "at most %d bytes", maxIngestValue)
		}
	}
	if f.lat, err = requiredFloat("lat", get("lat"), -90, 90); err != nil {
		return nil, err
	}
	if f.lon, err = requiredFloat("lon", get("lon"), -180, 180); err != nil {
		return nil, err
	}
	if f.t, err = h.fixTime("timestamp", get("timestamp")); err != nil {
		return nil, err
	}
	if f.speed, err = optionalFloat("speed", get("speed"), 2000); err != nil { // knots, as the apps send it
		return nil, err
	} else if f.speed != nil {
		*f.speed *= knotMS
	}
	bearing, name := get("bearing"), "bearing"
	if bearing == "" {
		bearing, name = get("heading"), "heading"
	}
	if f.heading, err = optionalFloat(name, bearing, 360); err != nil {
		return nil, err
	}
	if f.alt, err = altitude("altitude", get("altitude")); err != nil {
		return nil, err
	}
	if f.acc, err = optionalFloat("accuracy", get("accuracy"), 100000); err != nil {
		return nil, err
	}
	if _, err := optionalFloat("batt", get("batt"), 100); err != nil { // checked, not kept
		return nil, err
	}
	req.fixes = []fix{f}
	return req, nil
}

// traccarJSON is what Traccar Client (and other apps on the same location library) POST.
// Members not read here are ignored: the apps send many.
type traccarJSON struct {
	DeviceID *string         `json:"device_id"`
	Location json.RawMessage `json:"location"` // an object, or an array of them
}

type traccarLocation struct {
	Timestamp *string `json:"timestamp"`
	Coords    *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
		Accuracy  *float64 `json:"accuracy"`
		Speed     *float64 `json:"speed"` // m/s
		Heading   *float64 `json:"heading"`
		Altitude  *float64 `json:"altitude"`
	} `json:"coords"`
}

// parseJSON reads the Traccar Client JSON form; ?mode= may come with it.
func (h *ingestHandlers) parseJSON(c *fiber.Ctx) (*ingestRequest, error) {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return nil, beatgrid.FieldErrorf("/", "the body must be a JSON object")
	}
	var in traccarJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, jsonError(err)
	}
	req := &ingestRequest{credField: "device_id"}
	var err error
	if in.DeviceID == nil {
		return nil, beatgrid.FieldErrorf("/device_id", "required: <device_id>.<device_secret>")
	}
	if req.credential, err = ingestCredential("/device_id", *in.DeviceID); err != nil {
		return nil, err
	}
	if req.mode, err = ingestMode(c.Query("mode")); err != nil {
		return nil, err
	}
	var locs []traccarLocation
	prefix := func(i int) string { return "/location" }
	switch loc := bytes.TrimSpace(in.Location); {
	case len(loc) == 0 || string(loc) == "null":
		return nil, beatgrid.FieldErrorf("/location", "required")
	case loc[0] == '[':
		if err := json.Unmarshal(loc, &locs); err != nil {
			return nil, prefixed("/location", jsonError(err))
		}
		if len(locs) == 0 || len(locs) > maxIngestFixes {
			return nil, beatgrid.FieldErrorf("/location", "1 to %d locations", maxIngestFixes)
		}
		prefix = func(i int) string { return "/location/" + strconv.Itoa(i) }
	default:
		var one traccarLocation
		if err := json.Unmarshal(loc, &one); err != nil {
			return nil, prefixed("/location", jsonError(err))
		}
		locs = []traccarLocation{one}
	}
	for i, l := range locs {
		at := prefix(i)
		f := fix{names: fixNames{lat: at + "/coords/latitude", lon: at + "/coords/longitude", t: at + "/timestamp"}}
		if l.Timestamp == nil {
			return nil, beatgrid.FieldErrorf(at+"/timestamp", "required (RFC 3339)")
		}
		if f.t, err = h.fixTime(at+"/timestamp", *l.Timestamp); err != nil {
			return nil, err
		}
		co := l.Coords
		if co == nil {
			return nil, beatgrid.FieldErrorf(at+"/coords", "required")
		}
		if f.lat, err = checkFloat(f.names.lat, co.Latitude, -90, 90); err != nil {
			return nil, err
		}
		if f.lon, err = checkFloat(f.names.lon, co.Longitude, -180, 180); err != nil {
			return nil, err
		}
		for _, o := range []struct {
			name string
			v    *float64
			max  float64
			dst  **float64
		}{{"speed", co.Speed, 1000, &f.speed}, {"heading", co.Heading, 360, &f.heading}, {"accuracy", co.Accuracy, 100000, &f.acc}} {
			if *o.dst, err = unknownIfNegative(at+"/coords/"+o.name, o.v, o.max); err != nil {
				return nil, err
			}
		}
		if co.Altitude != nil {
			if _, err := checkFloat(at+"/coords/altitude", co.Altitude, -100000, 100000); err != nil {
				return nil, err
			}
			f.alt = co.Altitude
		}
		req.fixes = append(req.fixes, f)
	}
	return req, nil
}

// prefixed puts a field error of a nested decode under at.
func prefixed(at string, err error) error {
	var be *beatgrid.Error
	if errors.As(err, &be) && be.Field != "" {
		field := at
		if be.Field != "/" {
			field += be.Field
		}
		return beatgrid.FieldErrorf(field, "%s", be.Message)
	}
	return err
}

func ingestCredential(field, v string) (string, error) {
	switch {
	case v == "":
		return "", beatgrid.FieldErrorf(field, "required: <device_id>.<device_secret>")
	case len(v) > maxIngestID:
		return "", beatgrid.FieldErrorf(field, "at most %d bytes", maxIngestID)
	}
	return strings.TrimSpace(v), nil
}

func ingestMode(v string) (string, error) {
	switch v {
	case "":
		return "vehicle", nil
	case "foot", "vehicle":
		return v, nil
	}
	return "", beatgrid.FieldErrorf("mode", "foot or vehicle")
}

// fixTime reads a fix time: unix seconds, unix milliseconds (from 1e11 on), decimal unix
// seconds, or RFC 3339.
func (h *ingestHandlers) fixTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, beatgrid.FieldErrorf(field, "required: unix seconds or milliseconds, or RFC 3339")
	}
	if len(v) > maxIngestValue {
		return time.Time{}, beatgrid.FieldErrorf(field, "at most %d bytes", maxIngestValue)
	}
	var t time.Time
	whole, frac, dotted := strings.Cut(v, ".")
	switch {
	case digits(whole) && (!dotted || digits(frac) && len(frac) <= 9):
		n, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || n > 1e15 {
			return time.Time{}, beatgrid.FieldErrorf(field, "not a plausible time")
		}
		if n >= 1e11 && !dotted {
			t = time.UnixMilli(n)
		} else {
			ns, _ := strconv.Atoi((frac + "000000000")[:9])
			t = time.Unix(n, int64(ns))
		}
	default:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return time.Time{}, beatgrid.FieldErrorf(field, "unix seconds or milliseconds, or RFC 3339")
		}
	}
	t = t.UTC()
	if t.Before(ingestEarliest) || t.After(h.now().Add(ingestAhead)) {
		return time.Time{}, beatgrid.FieldErrorf(field, "%s is not a plausible time", t.Format(time.RFC3339))
	}
	return t, nil
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func parseFloat(field, v string) (float64, error) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, beatgrid.FieldErrorf(field, "not a number")
	}
	return x, nil
}

func requiredFloat(field, v string, lo, hi float64) (float64, error) {
	if v == "" {
		return 0, beatgrid.FieldErrorf(field, "required")
	}
	x, err := parseFloat(field, v)
	if err != nil {
		return 0, err
	}
	return checkFloat(field, &x, lo, hi)
}

func checkFloat(field string, x *float64, lo, hi float64) (float64, error) {
	if x == nil {
		return 0, beatgrid.FieldErrorf(field, "required")
	}
	if *x < lo || *x > hi {
		return 0, beatgrid.FieldErrorf(field, "out of range %g to %g", lo, hi)
	}
	return *x, nil
}

// optionalFloat reads a reading that may be absent; a negative one is "unknown" (the apps
// send -1), so absent too.
func optionalFloat(field, v string, hi float64) (*float64, error) {
	if v == "" {
		return nil, nil
	}
	x, err := parseFloat(field, v)
	if err != nil {
		return nil, err
	}
	return unknownIfNegative(field, &x, hi)
}

func unknownIfNegative(field string, x *float64, hi float64) (*float64, error) {
	switch {
	case x == nil || *x < 0:
		return nil, nil
	case *x > hi:
		return nil, beatgrid.FieldErrorf(field, "out of range 0 to %g", hi)
	}
	v := *x
	return &v, nil
}

func altitude(field, v string) (*float64, error) {
	if v == "" {
		return nil, nil
	}
	x, err := parseFloat(field, v)
	if err != nil {
		return nil, err
	}
	if _, err := checkFloat(field, &x, -100000, 100000); err != nil {
		return nil, err
	}
	return &x, nil
}
