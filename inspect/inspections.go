package inspect

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
	"github.com/paulmach/orb"
)

// MaxVenueDistance is how far from its venue an inspection may be sent before it is flagged
// far_from_venue (metres).
const MaxVenueDistance = 200

// Inspection flags.
const (
	FlagFarFromVenue     = "far_from_venue"
	FlagUnknownVenue     = "unknown_venue"
	FlagVenueOutOfScope  = "venue_out_of_scope"
	FlagUnknownChecklist = "unknown_checklist"
	FlagWrongVenueType   = "checklist_venue_type"
	FlagUnknownItem      = "unknown_item"
	FlagMissingRequired  = "missing_required"
	FlagBadAnswer        = "bad_answer"
	FlagClockSkew        = "clock_skew"
)

// hazardNamespace names the hazards raised by failed checklist items: the hazard of item I of
// inspection N is UUIDv5(hazardNamespace, N + "/" + I), the same on every server and replay.
var hazardNamespace = uuid.MustParse("6f1c2b0e-8d4a-5e39-9b7c-3a5d2e1f0c47")

// FailedItemHazard is the id of the hazard a failed item raises.
func FailedItemHazard(inspectionID, item string) string {
	return uuid.NewSHA1(hazardNamespace, []byte(inspectionID+"/"+item)).String()
}

// foldInspection keeps an inspection with what the server finds in it: the venue (known, in
// the inspector's scope, within 200 m), the checklist version, answers; a false answer to a
// required yes/no item reports a hazard.
func (s *Service) foldInspection(m *beatgrid.Mutation) {
	var f bgsync.InspectionSubmit
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	tree := s.cfg.Tree()
	s.mu.Lock()
	in := s.judge(tree, m, &f)
	if s.inspections[f.InspectionID] == nil {
		s.inspections[f.InspectionID] = map[string]*beatgrid.Inspection{}
	}
	s.inspections[f.InspectionID][m.DeviceID+"/"+m.ID] = in
	for _, a := range in.Answers {
		if !a.Failed {
			continue
		}
		id := FailedItemHazard(f.InspectionID, a.Item)
		he := &hazardEvent{HazardEvent: terminalEvent(m, "m:"+m.DeviceID+"/"+m.ID+"/"+a.Item, "report", f.T),
			scope: m.OrgUnitID, report: &report{unit: in.OrgUnitID, venueID: f.VenueID, inspectionID: f.InspectionID,
				item: a.Item, description: s.itemText(&f, a.Item), severity: "medium", photos: f.Photos, lon: f.Lon, lat: f.Lat}}
		s.hazardEvents(id)[he.ID] = he
	}
	s.mu.Unlock()
	for _, id := range in.HazardIDs {
		s.changed(CollHazards, id)
	}
}

// judge builds the inspection record of a submit. Callers hold s.mu.
func (s *Service) judge(tree *beatgrid.OrgTree, m *beatgrid.Mutation, f *bgsync.InspectionSubmit) *beatgrid.Inspection {
	in := &beatgrid.Inspection{ID: f.InspectionID, VenueID: f.VenueID, OrgUnitID: m.OrgUnitID, ChecklistID: f.ChecklistID,
		ChecklistVersion: f.ChecklistVersion, Photos: f.Photos, Lon: f.Lon, Lat: f.Lat, T: f.T, InspectorID: m.UserID,
		DeviceID: m.DeviceID, Flags: []string{}, HazardIDs: []string{}, ReceivedAt: m.ReceivedAt}
	if in.Photos == nil {
		in.Photos = []string{}
	}
	flag := func(f string) {
		if !slices.Contains(in.Flags, f) {
			in.Flags = append(in.Flags, f)
		}
	}
	v := s.venueByID(f.VenueID)
	switch {
	case v == nil:
		flag(FlagUnknownVenue)
	default:
		in.OrgUnitID = v.OrgUnitID
		if !tree.Within(m.OrgUnitID, v.OrgUnitID) {
			flag(FlagVenueOutOfScope)
		}
		d := geo.Distance(orb.Point{f.Lon, f.Lat}, v.Point)
		in.DistanceM = &d
		if d > MaxVenueDistance {
			flag(FlagFarFromVenue)
		}
	}
	if slices.Contains(m.Flags, FlagClockSkew) {
		flag(FlagClockSkew)
	}
	cl := s.checklistVersion(f.ChecklistID, f.ChecklistVersion)
	in.Answers = make([]beatgrid.InspectionAnswer, len(f.Answers))
	for i, a := range f.Answers {
		in.Answers[i] = beatgrid.InspectionAnswer{Item: a.Item, Value: a.Value}
	}
	if cl == nil {
		flag(FlagUnknownChecklist)
		return in
	}
	if v != nil && cl.VenueType != v.Type {
		flag(FlagWrongVenueType)
	}
	answered := map[string]bool{}
	for i, a := range in.Answers {
		it := cl.Item(a.Item)
		if it == nil {
			flag(FlagUnknownItem)
			continue
		}
		answered[a.Item] = true
		if !fits(it.Kind, a.Value) {
			flag(FlagBadAnswer)
			continue
		}
		if it.Kind == beatgrid.ItemYesNo && it.Required && string(a.Value) == "false" {
			in.Answers[i].Failed = true
			id := FailedItemHazard(f.InspectionID, a.Item)
			if !slices.Contains(in.HazardIDs, id) {
				in.HazardIDs = append(in.HazardIDs, id)
			}
		}
	}
	for _, it := range cl.Items {
		if it.Required && !answered[it.ID] {
			flag(FlagMissingRequired)
		}
	}
	return in
}

// fits reports whether a JSON answer suits an item kind.
func fits(kind string, v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch x.(type) {
	case bool:
		return kind == beatgrid.ItemYesNo
	case float64:
		return kind == beatgrid.ItemNumber
	case string:
		return kind == beatgrid.ItemText || kind == beatgrid.ItemPhoto
	}
	return false
}

// itemText describes a failed item for its hazard. Callers hold s.mu.
func (s *Service) itemText(f *bgsync.InspectionSubmit, item string) string {
	if cl := s.checklistVersion(f.ChecklistID, f.ChecklistVersion); cl != nil {
		if it := cl.Item(item); it != nil {
			return "Failed checklist item " + item + ": " + it.Text
		}
	}
	return "Failed checklist item " + item
}

// canonical is the record of inspection id that counts when several terminals sent it: the
// earliest by (t, device/mutation). Callers hold s.mu.
func (s *Service) canonical(id string) *beatgrid.Inspection {
	var best *beatgrid.Inspection
	var bestKey string
	for key, in := range s.inspections[id] {
		if best == nil || cmp.Or(in.T.Compare(best.T), cmp.Compare(key, bestKey)) < 0 {
			best, bestKey = in, key
		}
	}
	return best
}

// Inspections returns the inspections in p's scope (by the venue's unit), by id; of venue
// venueID when it is not empty.
func (s *Service) Inspections(p *beatgrid.Principal, venueID string) []*beatgrid.Inspection {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*beatgrid.Inspection
	for _, id := range keysOf(s.inspections) {
		in := s.canonical(id)
		if within(tree, p, in.OrgUnitID) && (venueID == "" || in.VenueID == venueID) {
			out = append(out, in)
		}
	}
	return out
}

// Inspection returns inspection id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Service) Inspection(p *beatgrid.Principal, id string) (*beatgrid.Inspection, error) {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	in := s.canonical(id)
	if in == nil || !within(tree, p, in.OrgUnitID) {
		return nil, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such inspection in your scope.")
	}
	return in, nil
}
