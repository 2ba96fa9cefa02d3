package inspect

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/beatgrid/beatgrid"
	bgsync "github.com/beatgrid/beatgrid/sync"
)

// Notice deadlines.
const (
	DefaultNoticeDays = 7
	minDeadline       = time.Hour
	maxDeadline       = 180 * 24 * time.Hour
	maxNoteLen        = 4000
	maxActionLen      = 100
	maxPhotos         = bgsync.MaxPhotos
)

// Event sources.
const (
	SourceTerminal = "terminal"
	SourceConsole  = "console"
)

// hazardEvent is one event of a hazard as folded: the history entry, plus what the fold
// needs to judge it.
type hazardEvent struct {
	beatgrid.HazardEvent
	scope  string  // a terminal event's unit: the hazard must lie in its subtree
	report *report // for a report
}

// report is what a report says about the hazard.
type report struct {
	unit, venueID, inspectionID, item, description, severity string
	photos                                                   []string
	lon, lat                                                 float64
}

func (s *Service) hazardEvents(id string) map[string]*hazardEvent {
	evs := s.hazards[id]
	if evs == nil {
		evs = map[string]*hazardEvent{}
		s.hazards[id] = evs
	}
	return evs
}

func consoleHazardEvent(e *beatgrid.InspectEvent) *hazardEvent {
	he := &hazardEvent{HazardEvent: beatgrid.HazardEvent{ID: e.ID, Kind: strings.TrimPrefix(e.Kind, "hazard."),
		Source: SourceConsole, At: e.At, By: e.UserID, Action: e.Action, Note: e.Note, Pass: e.Pass,
		Photos: e.Photos, NoticeNo: e.NoticeNo}}
	if !e.Deadline.IsZero() {
		d := e.Deadline
		he.Deadline = &d
	}
	return he
}

// terminalEvent is the history entry of a terminal's fact.
func terminalEvent(m *beatgrid.Mutation, id, kind string, t time.Time) beatgrid.HazardEvent {
	return beatgrid.HazardEvent{ID: id, Kind: kind, Source: SourceTerminal, At: t, By: m.UserID, DeviceID: m.DeviceID}
}

func (s *Service) foldReport(m *beatgrid.Mutation) {
	var f bgsync.HazardReport
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	unit := m.OrgUnitID
	if v := s.venueByID(f.VenueID); v != nil {
		unit = v.OrgUnitID
	}
	he := &hazardEvent{HazardEvent: terminalEvent(m, "m:"+m.DeviceID+"/"+m.ID, "report", f.T), scope: m.OrgUnitID,
		report: &report{unit: unit, venueID: f.VenueID, description: f.Description, severity: f.Severity,
			photos: f.Photos, lon: f.Lon, lat: f.Lat}}
	he.Photos = f.Photos
	s.hazardEvents(f.HazardID)[he.ID] = he
	s.mu.Unlock()
	s.changed(CollHazards, f.HazardID)
}

func (s *Service) foldRectify(m *beatgrid.Mutation) {
	var f bgsync.HazardRectify
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	he := &hazardEvent{HazardEvent: terminalEvent(m, "m:"+m.DeviceID+"/"+m.ID, "rectify", f.T), scope: m.OrgUnitID}
	he.Action, he.Note, he.Photos = f.Action, f.Note, f.Photos
	s.hazardEvents(f.HazardID)[he.ID] = he
	s.mu.Unlock()
	s.changed(CollHazards, f.HazardID)
}

// sortedHazardEvents returns a hazard's events ordered by (event time, id).
func sortedHazardEvents(evs map[string]*hazardEvent) []*hazardEvent {
	out := make([]*hazardEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, e)
	}
	slices.SortFunc(out, compareHazardEvents)
	return out
}

// compareHazardEvents orders events by time; at one instant a terminal's fact comes before a
// console action (the console acted on what it saw), then by id.
func compareHazardEvents(a, b *hazardEvent) int {
	return cmp.Or(a.At.Compare(b.At), cmp.Compare(rank(a.Source), rank(b.Source)), cmp.Compare(a.ID, b.ID))
}

// hazardView folds hazard id's events; false if no report of it is valid. Callers hold s.mu.
func (s *Service) hazardView(id string) (beatgrid.Hazard, bool) {
	return foldHazard(s.cfg.Tree(), id, sortedHazardEvents(s.hazards[id]))
}

// foldHazard runs the lifecycle over events in order. Each event either moves the hazard on
// (From → To) or is kept superseded with the reason: nothing is dropped or overwritten.
func foldHazard(tree *beatgrid.OrgTree, id string, evs []*hazardEvent) (beatgrid.Hazard, bool) {
	h := beatgrid.Hazard{ID: id, Photos: []string{}, History: make([]beatgrid.HazardEvent, 0, len(evs))}
	for _, e := range evs {
		entry := e.HazardEvent
		to, reason := step(tree, &h, e)
		if reason != "" {
			entry.Superseded, entry.Reason = true, reason
		} else {
			entry.From, entry.To = h.Status, to
			apply(&h, e, to)
		}
		h.History = append(h.History, entry)
	}
	return h, h.Status != ""
}

// step judges e in h's current state: the status it leads to, or why it is superseded.
func step(tree *beatgrid.OrgTree, h *beatgrid.Hazard, e *hazardEvent) (string, string) {
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case e.Kind == "report" && h.Status != "":
		return "", "the hazard was reported already, at " + at(h.ReportedAt)
	case e.Kind == "report":
		return beatgrid.HazardOpen, ""
	case h.Status == "":
		return "", "the hazard had not been reported yet"
	case h.Status == beatgrid.HazardClosed:
		return "", "the hazard was closed at " + at(h.UpdatedAt)
	case e.Source == SourceTerminal && !tree.Within(e.scope, h.OrgUnitID):
		return "", "the hazard is not in the terminal's scope"
	}
	switch e.Kind {
	case "notice":
		switch {
		case h.Notice != nil:
			return "", "a notice was issued already: " + h.Notice.Number
		case h.Status == beatgrid.HazardOpen:
			return beatgrid.HazardNotified, ""
		case h.Status == beatgrid.HazardRectifying:
			return beatgrid.HazardRectifying, ""
		}
		return "", "the hazard passed re-inspection already"
	case "rectify":
		if h.Status == beatgrid.HazardReinspected {
			return "", "the hazard passed re-inspection at " + at(h.UpdatedAt)
		}
		return beatgrid.HazardRectifying, ""
	case "reinspect":
		switch h.Status {
		case beatgrid.HazardNotified, beatgrid.HazardRectifying:
			if e.Pass != nil && *e.Pass {
				return beatgrid.HazardReinspected, ""
			}
			return beatgrid.HazardRectifying, ""
		case beatgrid.HazardOpen:
			return "", "nothing to re-inspect: no notice and no rectification yet"
		}
		return "", "the hazard passed re-inspection already"
	case "close":
		if h.Status == beatgrid.HazardReinspected {
			return beatgrid.HazardClosed, ""
		}
		return "", "only a hazard that passed re-inspection is closed (it is " + h.Status + ")"
	}
	return "", "unknown event " + e.Kind
}

// apply moves h on by a valid event.
func apply(h *beatgrid.Hazard, e *hazardEvent, to string) {
	if r := e.report; r != nil {
		h.OrgUnitID, h.VenueID, h.InspectionID, h.Item = r.unit, r.venueID, r.inspectionID, r.item
		h.Description, h.Severity, h.Lon, h.Lat = r.description, r.severity, r.lon, r.lat
		h.Photos = append([]string{}, r.photos...)
		h.ReportedBy, h.ReportedAt = e.By, e.At
	}
	if e.Kind == "notice" && e.Deadline != nil {
		h.Notice = &beatgrid.Notice{Number: e.NoticeNo, Deadline: *e.Deadline, IssuedAt: e.At, IssuedBy: e.By, Note: e.Note}
	}
	h.Status, h.UpdatedAt = to, e.At
}

// visibleHazard returns hazard id's view if it lies in p's scope. Callers hold s.mu.
func (s *Service) visibleHazard(tree *beatgrid.OrgTree, p *beatgrid.Principal, id string) (beatgrid.Hazard, error) {
	h, ok := foldHazard(tree, id, sortedHazardEvents(s.hazards[id]))
	if !ok || !within(tree, p, h.OrgUnitID) {
		return beatgrid.Hazard{}, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such hazard in your scope.")
	}
	return h, nil
}

func (s *Service) withOverdue(h beatgrid.Hazard) beatgrid.Hazard {
	o := h.IsOverdue(s.cfg.Now())
	h.Overdue = &o
	return h
}

// Hazards returns the hazards in p's scope, by id: of a status when status is not empty
// ("overdue" for those past their deadline).
func (s *Service) Hazards(p *beatgrid.Principal, status string) []beatgrid.Hazard {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []beatgrid.Hazard
	for _, id := range keysOf(s.hazards) {
		h, err := s.visibleHazard(tree, p, id)
		if err != nil {
			continue
		}
		h = s.withOverdue(h)
		if status == "" || h.Status == status || (status == beatgrid.HazardOverdue && *h.Overdue) {
			out = append(out, h)
		}
	}
	return out
}

// Hazard returns hazard id, with its whole history, if it lies in p's scope.
func (s *Service) Hazard(p *beatgrid.Principal, id string) (beatgrid.Hazard, error) {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, err := s.visibleHazard(tree, p, id)
	if err != nil {
		return h, err
	}
	return s.withOverdue(h), nil
}

// NoticeRequest issues a rectification notice; a nil Deadline is DefaultNoticeDays away.
type NoticeRequest struct {
	Deadline *time.Time
	Note     string
}

// IssueNotice issues the hazard's rectification notice, numbered "<unit short>-<yyyy>-<seq>"
// (commanders, admins).
func (s *Service) IssueNotice(ctx context.Context, p *beatgrid.Principal, id string, r NoticeRequest) (beatgrid.Hazard, error) {
	return s.act(ctx, p, id, []string{beatgrid.RoleCommander, beatgrid.RoleAdmin},
		func(tree *beatgrid.OrgTree, h beatgrid.Hazard, e *beatgrid.InspectEvent) error {
			if err := checkNote(r.Note); err != nil {
				return err
			}
			deadline := e.At.AddDate(0, 0, DefaultNoticeDays)
			if r.Deadline != nil {
				deadline = r.Deadline.UTC()
				if d := deadline.Sub(e.At); d < minDeadline || d > maxDeadline {
					return beatgrid.FieldErrorf("/deadline", "must be 1 hour to 180 days from now")
				}
			}
			key := unitShort(tree, h.OrgUnitID) + "-" + strconv.Itoa(e.At.Year())
			e.Kind, e.Note, e.Deadline = "hazard.notice", r.Note, deadline
			e.NoticeNo = fmt.Sprintf("%s-%04d", key, s.noticeSeq(key)+1)
			return nil
		})
}

// Rectify records rectification work on the hazard (any role in scope).
func (s *Service) Rectify(ctx context.Context, p *beatgrid.Principal, id, action, note string, photos []string) (beatgrid.Hazard, error) {
	return s.act(ctx, p, id, nil, func(_ *beatgrid.OrgTree, _ beatgrid.Hazard, e *beatgrid.InspectEvent) error {
		if err := beatgrid.CheckName("/action", action, maxActionLen); err != nil {
			return err
		}
		if err := first(checkNote(note), checkPhotos(photos)); err != nil {
			return err
		}
		e.Kind, e.Action, e.Note, e.Photos = "hazard.rectify", action, note, photos
		return nil
	})
}

// Reinspect records a re-inspection: passed, the hazard is reinspected; failed, it goes back
// to rectifying (inspectors, commanders, admins).
func (s *Service) Reinspect(ctx context.Context, p *beatgrid.Principal, id string, pass bool, note string, photos []string) (beatgrid.Hazard, error) {
	return s.act(ctx, p, id, []string{beatgrid.RoleInspector, beatgrid.RoleCommander, beatgrid.RoleAdmin},
		func(_ *beatgrid.OrgTree, _ beatgrid.Hazard, e *beatgrid.InspectEvent) error {
			if err := first(checkNote(note), checkPhotos(photos)); err != nil {
				return err
			}
			e.Kind, e.Pass, e.Note, e.Photos = "hazard.reinspect", &pass, note, photos
			return nil
		})
}

// Close closes a hazard that passed re-inspection (commanders, admins).
func (s *Service) Close(ctx context.Context, p *beatgrid.Principal, id, note string) (beatgrid.Hazard, error) {
	return s.act(ctx, p, id, []string{beatgrid.RoleCommander, beatgrid.RoleAdmin},
		func(_ *beatgrid.OrgTree, _ beatgrid.Hazard, e *beatgrid.InspectEvent) error {
			if err := checkNote(note); err != nil {
				return err
			}
			e.Kind, e.Note = "hazard.close", note
			return nil
		})
}

// act stores a console action on hazard id if p holds one of roles (any when nil), the hazard
// lies in p's scope and the action is valid in its current state (ECONFLICT with the reason
// otherwise); the publisher then stores what terminals pull.
func (s *Service) act(ctx context.Context, p *beatgrid.Principal, id string, roles []string,
	build func(*beatgrid.OrgTree, beatgrid.Hazard, *beatgrid.InspectEvent) error) (beatgrid.Hazard, error) {
	if roles != nil && !p.HasRole(roles...) {
		return beatgrid.Hazard{}, beatgrid.Errorf(beatgrid.EFORBIDDEN, "This needs the role %s.", strings.Join(roles, " or "))
	}
	id = strings.Clone(id) // it becomes part of the stored event; the caller's may alias request memory
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.cfg.Tree()
	s.mu.RLock()
	h, err := s.visibleHazard(tree, p, id)
	s.mu.RUnlock()
	if err != nil {
		return h, err
	}
	e := &beatgrid.InspectEvent{Target: id, At: s.cfg.Now().UTC(), UserID: p.UserID, OrgUnitID: p.OrgUnitID}
	if err := build(tree, h, e); err != nil {
		return beatgrid.Hazard{}, err
	}
	s.mu.RLock()
	evs := sortedHazardEvents(s.hazards[id])
	s.mu.RUnlock()
	e.ID = s.nextConsoleID(id)
	evs = append(evs, consoleHazardEvent(e))
	slices.SortFunc(evs, compareHazardEvents)
	after, _ := foldHazard(tree, id, evs)
	for _, he := range after.History {
		if he.ID == e.ID && he.Superseded {
			return beatgrid.Hazard{}, beatgrid.Errorf(beatgrid.ECONFLICT, "Not now: %s.", he.Reason)
		}
	}
	if err := s.storeConsole(ctx, e); err != nil {
		return beatgrid.Hazard{}, err
	}
	s.changed(CollHazards, id) // the publisher stores what terminals pull
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, err = s.visibleHazard(tree, p, id)
	return s.withOverdue(h), err
}

// unitShort is a unit's short name for notice numbers: the first letter of each word of its
// name, upper-cased, with the word's digits ("Station A1" → "SA1"); "U" for a unit without one.
func unitShort(tree *beatgrid.OrgTree, id string) string {
	u := tree.Unit(id)
	if u == nil {
		return "U"
	}
	var b strings.Builder
	for _, w := range strings.Fields(u.Name) {
		r := []rune(w)
		if unicode.IsLetter(r[0]) {
			b.WriteRune(unicode.ToUpper(r[0]))
		}
		for _, c := range r[1:] {
			if unicode.IsDigit(c) {
				b.WriteRune(c)
			}
		}
	}
	if b.Len() == 0 {
		return "U"
	}
	return b.String()
}

// noticeSeq is the highest number given under key. Callers hold the writer lock.
func (s *Service) noticeSeq(key string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.notices[key]
}

// noteNotice records a given notice number. Callers hold s.mu.
func (s *Service) noteNotice(no string) {
	i := strings.LastIndexByte(no, '-')
	if i < 0 {
		return
	}
	if n, err := strconv.Atoi(no[i+1:]); err == nil && n > s.notices[no[:i]] {
		s.notices[no[:i]] = n
	}
}

func checkNote(note string) error {
	if len([]rune(note)) > maxNoteLen {
		return beatgrid.FieldErrorf("/note", "longer than %d characters", maxNoteLen)
	}
	return nil
}

func checkPhotos(photos []string) error {
	if len(photos) > maxPhotos {
		return beatgrid.FieldErrorf("/photos", "more than %d photos", maxPhotos)
	}
	for i, p := range photos {
		if len(p) != 64 || strings.Trim(p, "0123456789abcdef") != "" {
			return beatgrid.FieldErrorf(fmt.Sprintf("/photos/%d", i), "must be the lower-case hex sha256 of the photo")
		}
	}
	return nil
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// rank orders the sources of events at one instant: terminal facts first.
func rank(source string) int {
	if source == SourceConsole {
		return 1
	}
	return 0
}
