package inspect

import (
	"cmp"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beatgrid/beatgrid"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/google/uuid"
)

var (
	taskKinds = []string{beatgrid.TaskInspectVenue, beatgrid.TaskPatrolCell, beatgrid.TaskVerifyHazard}
	cellRE    = regexp.MustCompile(`^([0-9]{1,2})/([0-9]{1,8})/([0-9]{1,8})$`)
)

// taskEvent is one event of a task as folded.
type taskEvent struct {
	beatgrid.TaskEvent
	scope    string                 // a terminal event's unit
	dispatch *beatgrid.InspectEvent // for a dispatch
}

func (s *Service) taskEvents(id string) map[string]*taskEvent {
	evs := s.tasks[id]
	if evs == nil {
		evs = map[string]*taskEvent{}
		s.tasks[id] = evs
	}
	return evs
}

func consoleTaskEvent(e *beatgrid.InspectEvent) *taskEvent {
	te := &taskEvent{TaskEvent: beatgrid.TaskEvent{ID: e.ID, Kind: strings.TrimPrefix(e.Kind, "task."),
		Source: SourceConsole, At: e.At, By: e.UserID, Accept: e.Pass, Note: e.Note}}
	if e.Kind == "task.dispatch" {
		te.dispatch = e
	}
	return te
}

func (s *Service) foldFeedback(m *beatgrid.Mutation) {
	var f bgsync.TaskFeedback
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	s.taskEvents(f.TaskID)["m:"+m.DeviceID+"/"+m.ID] = &taskEvent{scope: m.OrgUnitID, TaskEvent: beatgrid.TaskEvent{
		ID: "m:" + m.DeviceID + "/" + m.ID, Kind: "feedback", Source: SourceTerminal, At: f.T, By: m.UserID,
		DeviceID: m.DeviceID, Status: f.Status, Note: f.Note, Photos: f.Photos}}
	s.mu.Unlock()
	s.changed(CollTasks, f.TaskID)
}

// taskView folds task id's events; false without a dispatch. Callers hold s.mu.
func (s *Service) taskView(id string) (beatgrid.Task, bool) {
	return foldTask(s.cfg.Tree(), id, s.tasks[id])
}

func foldTask(tree *beatgrid.OrgTree, id string, m map[string]*taskEvent) (beatgrid.Task, bool) {
	evs := make([]*taskEvent, 0, len(m))
	for _, e := range m {
		evs = append(evs, e)
	}
	slices.SortFunc(evs, func(a, b *taskEvent) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(rank(a.Source), rank(b.Source)), cmp.Compare(a.ID, b.ID))
	})
	t := beatgrid.Task{ID: id, History: make([]beatgrid.TaskEvent, 0, len(evs))}
	for _, e := range evs {
		entry := e.TaskEvent
		to, reason := taskStep(tree, &t, e)
		if reason != "" {
			entry.Superseded, entry.Reason = true, reason
		} else {
			entry.From, entry.To = t.Status, to
			applyTask(&t, e, to)
		}
		t.History = append(t.History, entry)
	}
	return t, t.Status != ""
}

func taskStep(tree *beatgrid.OrgTree, t *beatgrid.Task, e *taskEvent) (string, string) {
	switch {
	case e.Kind == "dispatch" && t.Status != "":
		return "", "the task was dispatched already"
	case e.Kind == "dispatch":
		return beatgrid.TaskDispatched, ""
	case t.Status == "":
		return "", "the task had not been dispatched yet"
	case t.Status == beatgrid.TaskVerified:
		return "", "the task was verified at " + t.UpdatedAt.Format(time.RFC3339)
	case e.Source == SourceTerminal && !tree.Within(e.scope, t.OrgUnitID):
		return "", "the task is not in the terminal's scope"
	}
	switch e.Kind {
	case "feedback":
		return beatgrid.TaskFeedback, ""
	case "verify":
		if t.Status != beatgrid.TaskFeedback {
			return "", "there is no feedback to verify"
		}
		if e.Accept != nil && *e.Accept {
			return beatgrid.TaskVerified, ""
		}
		return beatgrid.TaskSentBack, ""
	}
	return "", "unknown event " + e.Kind
}

func applyTask(t *beatgrid.Task, e *taskEvent, to string) {
	if d := e.dispatch; d != nil {
		t.Kind, t.Target, t.OrgUnitID, t.AssigneeID, t.Note = d.TaskKind, d.TaskTarget, d.OrgUnitID, d.AssigneeID, d.Note
		t.CreatedBy, t.CreatedAt = d.UserID, d.At
		if !d.Due.IsZero() {
			due := d.Due
			t.Due = &due
		}
	}
	if e.Kind == "feedback" {
		fb := e.TaskEvent
		t.Feedback = &fb
	}
	t.Status, t.UpdatedAt = to, e.At
}

// Tasks returns the tasks in p's scope, by id; of a status when status is not empty.
func (s *Service) Tasks(p *beatgrid.Principal, status string) []beatgrid.Task {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []beatgrid.Task
	for _, id := range keysOf(s.tasks) {
		t, ok := foldTask(tree, id, s.tasks[id])
		if ok && within(tree, p, t.OrgUnitID) && (status == "" || t.Status == status) {
			out = append(out, t)
		}
	}
	return out
}

// Task returns task id if it lies in p's scope; ENOTFOUND otherwise.
func (s *Service) Task(p *beatgrid.Principal, id string) (beatgrid.Task, error) {
	tree := s.cfg.Tree()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return visibleTask(tree, p, id, s.tasks[id])
}

func visibleTask(tree *beatgrid.OrgTree, p *beatgrid.Principal, id string, evs map[string]*taskEvent) (beatgrid.Task, error) {
	t, ok := foldTask(tree, id, evs)
	if !ok || !within(tree, p, t.OrgUnitID) {
		return beatgrid.Task{}, beatgrid.Errorf(beatgrid.ENOTFOUND, "No such task in your scope.")
	}
	return t, nil
}

// Dispatch is a task to dispatch. The handler resolves an assignee to his unit.
type Dispatch struct {
	Kind         string
	Target       string
	OrgUnitID    string // empty: the assignee's unit, or the caller's
	AssigneeID   string
	AssigneeUnit string
	Due          *time.Time
	Note         string
}

// DispatchTask dispatches a task to a unit or an officer in p's scope (commanders, admins).
func (s *Service) DispatchTask(ctx context.Context, p *beatgrid.Principal, d Dispatch) (beatgrid.Task, error) {
	if err := commanderOnly(p); err != nil {
		return beatgrid.Task{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.cfg.Tree()
	now := s.cfg.Now().UTC()
	unit := cmp.Or(d.OrgUnitID, d.AssigneeUnit, p.OrgUnitID)
	if err := first(s.checkTarget(tree, p, d.Kind, d.Target), checkNote(d.Note),
		applyUnit(tree, p, &unit, &unit, true)); err != nil {
		return beatgrid.Task{}, err
	}
	if d.AssigneeID != "" && !tree.Within(unit, d.AssigneeUnit) {
		return beatgrid.Task{}, beatgrid.FieldErrorf("/assignee_id", "the assignee is not in the task's unit")
	}
	e := &beatgrid.InspectEvent{Kind: "task.dispatch", Target: uuid.Must(uuid.NewV7()).String(), At: now,
		UserID: p.UserID, OrgUnitID: unit, Note: d.Note, TaskKind: d.Kind, TaskTarget: d.Target, AssigneeID: d.AssigneeID}
	if d.Due != nil {
		if !d.Due.After(now) || d.Due.Sub(now) > maxDeadline {
			return beatgrid.Task{}, beatgrid.FieldErrorf("/due", "must be in the next 180 days")
		}
		e.Due = d.Due.UTC()
	}
	return s.storeTask(ctx, tree, p, e)
}

// checkTarget checks a task's target exists in p's scope. Callers hold the writer lock.
func (s *Service) checkTarget(tree *beatgrid.OrgTree, p *beatgrid.Principal, kind, target string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(target) > 128 {
		return beatgrid.FieldErrorf("/target", "at most 128 characters")
	}
	switch kind {
	case beatgrid.TaskInspectVenue:
		if _, err := s.venueIn(tree, p, target); err != nil {
			return beatgrid.FieldErrorf("/target", "no such venue in your scope")
		}
	case beatgrid.TaskVerifyHazard:
		if _, err := s.visibleHazard(tree, p, target); err != nil {
			return beatgrid.FieldErrorf("/target", "no such hazard in your scope")
		}
	case beatgrid.TaskPatrolCell:
		m := cellRE.FindStringSubmatch(target)
		if m == nil {
			return beatgrid.FieldErrorf("/target", "a cell as z/x/y")
		}
		z, _ := strconv.Atoi(m[1])
		x, _ := strconv.ParseInt(m[2], 10, 64)
		y, _ := strconv.ParseInt(m[3], 10, 64)
		if z > 24 || x >= 1<<z || y >= 1<<z {
			return beatgrid.FieldErrorf("/target", "no such cell: z 0 to 24, x and y below 2^z")
		}
	default:
		return beatgrid.FieldErrorf("/kind", "must be one of %s", strings.Join(taskKinds, ", "))
	}
	return nil
}

// VerifyTask accepts a task's feedback (verified) or sends it back (commanders, admins).
func (s *Service) VerifyTask(ctx context.Context, p *beatgrid.Principal, id string, accept bool, note string) (beatgrid.Task, error) {
	if err := commanderOnly(p); err != nil {
		return beatgrid.Task{}, err
	}
	if err := checkNote(note); err != nil {
		return beatgrid.Task{}, err
	}
	id = strings.Clone(id) // it becomes part of the stored event; the caller's may alias request memory
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tree := s.cfg.Tree()
	s.mu.RLock()
	t, err := visibleTask(tree, p, id, s.tasks[id])
	s.mu.RUnlock()
	if err != nil {
		return t, err
	}
	if t.Status != beatgrid.TaskFeedback {
		return beatgrid.Task{}, beatgrid.Errorf(beatgrid.ECONFLICT, "Not now: the task is %s; only feedback is verified.", t.Status)
	}
	e := &beatgrid.InspectEvent{Kind: "task.verify", Target: id, At: s.cfg.Now().UTC(), UserID: p.UserID,
		OrgUnitID: p.OrgUnitID, Pass: &accept, Note: note}
	if !e.At.After(t.UpdatedAt) {
		e.At = t.UpdatedAt.Add(time.Millisecond) // after the feedback it verifies, whatever the terminal's clock
	}
	return s.storeTask(ctx, tree, p, e)
}

// storeTask stores a console action on a task, marks the task for the publisher and returns it.
func (s *Service) storeTask(ctx context.Context, tree *beatgrid.OrgTree, p *beatgrid.Principal, e *beatgrid.InspectEvent) (beatgrid.Task, error) {
	if err := s.storeConsole(ctx, e); err != nil {
		return beatgrid.Task{}, err
	}
	s.changed(CollTasks, e.Target) // the publisher stores what terminals pull
	s.mu.RLock()
	defer s.mu.RUnlock()
	return visibleTask(tree, p, e.Target, s.tasks[e.Target])
}
