package beatgrid

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// Venue types: the "nine kinds of small venues" (九小场所) and rental housing, graded A/B/C.
const (
	VenueSmallShop     = "small_shop"
	VenueRestaurant    = "restaurant"
	VenueHotel         = "hotel"
	VenueInternetCafe  = "internet_cafe"
	VenueEntertainment = "entertainment"
	VenueWorkshop      = "workshop"
	VenueWarehouse     = "warehouse"
	VenueSchool        = "school"
	VenueClinic        = "clinic"
	VenueRentalHousing = "rental_housing"
)

// VenueTypes lists the venue types.
var VenueTypes = []string{VenueSmallShop, VenueRestaurant, VenueHotel, VenueInternetCafe, VenueEntertainment,
	VenueWorkshop, VenueWarehouse, VenueSchool, VenueClinic, VenueRentalHousing}

// ValidVenueType reports whether t is a venue type.
func ValidVenueType(t string) bool { return slices.Contains(VenueTypes, t) }

// Venue is a place inspectors visit. It is a Place: versioned, owned by an org unit, pulled by
// the terminals of that unit's subtree.
type Venue struct {
	Place
	Type    string
	Address string
	Point   orb.Point
	// OwnerContact is the owner's or manager's name and phone, as written.
	OwnerContact string
	// RiskGrade is A, B or C for rental housing (A the lowest risk), with the reasons; empty
	// for other types.
	RiskGrade   string
	RiskReasons []string
}

// MarshalJSON gives the venue's API shape, the same on GET and on pull.
// pointJSON is a GeoJSON Point (orb/geojson would bring the database driver's bson into
// every package that imports this one).
type pointJSON struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

func (v *Venue) MarshalJSON() ([]byte, error) {
	reasons := v.RiskReasons
	if reasons == nil {
		reasons = []string{}
	}
	return json.Marshal(struct {
		ID           string    `json:"id"`
		OrgUnitID    string    `json:"org_unit_id"`
		Name         string    `json:"name"`
		Type         string    `json:"type"`
		Address      string    `json:"address"`
		Geometry     pointJSON `json:"geometry"`
		OwnerContact string    `json:"owner_contact"`
		RiskGrade    string    `json:"risk_grade,omitempty"`
		RiskReasons  []string  `json:"risk_reasons"`
		Version      int64     `json:"version"`
		CreatedAt    time.Time `json:"created_at"`
		UpdatedAt    time.Time `json:"updated_at"`
	}{v.ID, v.OrgUnitID, v.Name, v.Type, v.Address, pointJSON{"Point", [2]float64(v.Point)}, v.OwnerContact,
		v.RiskGrade, reasons, v.Version, v.CreatedAt, v.UpdatedAt})
}

// Checklist item kinds.
const (
	ItemYesNo  = "yes_no"
	ItemNumber = "number"
	ItemText   = "text"
	ItemPhoto  = "photo"
)

// Checklist is one version of an inspection template for a venue type. Versions are never
// changed: a change of items is a new version, and an inspection names the version it answered.
type Checklist struct {
	ID        string          `json:"id"`
	OrgUnitID string          `json:"org_unit_id"`
	VenueType string          `json:"venue_type"`
	Name      string          `json:"name"`
	Version   int64           `json:"version"`
	Items     []ChecklistItem `json:"items"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
	Rev       int64           `json:"-"` // the change feed's version of this checklist version
}

// ChecklistItem is one question of a checklist.
type ChecklistItem struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Kind     string `json:"kind"` // yes_no, number, text, photo
	Required bool   `json:"required"`
}

// Item returns the item with id, or nil.
func (c *Checklist) Item(id string) *ChecklistItem {
	for i := range c.Items {
		if c.Items[i].ID == id {
			return &c.Items[i]
		}
	}
	return nil
}

// Inspection is a venue inspection as a terminal submitted it (inspection.submit), with what
// the server found when it folded it.
type Inspection struct {
	ID               string             `json:"id"`
	VenueID          string             `json:"venue_id"`
	OrgUnitID        string             `json:"org_unit_id"` // the venue's unit, or the inspector's for an unknown venue
	ChecklistID      string             `json:"checklist_id"`
	ChecklistVersion int                `json:"checklist_version"`
	Answers          []InspectionAnswer `json:"answers"`
	Photos           []string           `json:"photos"`
	Lon              float64            `json:"lon"`
	Lat              float64            `json:"lat"`
	T                time.Time          `json:"t"`
	InspectorID      string             `json:"inspector_id"`
	DeviceID         string             `json:"device_id"`
	DistanceM        *float64           `json:"distance_m"` // from the venue; null for an unknown venue
	Flags            []string           `json:"flags"`      // far_from_venue, unknown_venue, …
	HazardIDs        []string           `json:"hazard_ids"` // hazards its failed items raised
	ReceivedAt       time.Time          `json:"received_at"`
}

// InspectionAnswer answers one checklist item; Value is a JSON boolean, number or string.
type InspectionAnswer struct {
	Item   string          `json:"item"`
	Value  json.RawMessage `json:"value"`
	Failed bool            `json:"failed,omitempty"` // false on a required yes/no item
}

// Hazard statuses. Overdue is not a status of its own: a notified or rectifying hazard past
// its deadline is overdue.
const (
	HazardOpen        = "open"
	HazardNotified    = "notified"
	HazardRectifying  = "rectifying"
	HazardReinspected = "reinspected"
	HazardClosed      = "closed"
	HazardOverdue     = "overdue" // a filter, derived
)

// Hazard is what a hazard's events say: a deterministic fold of them, ordered by (At, ID).
type Hazard struct {
	ID           string        `json:"id"`
	OrgUnitID    string        `json:"org_unit_id"`
	VenueID      string        `json:"venue_id,omitempty"`
	InspectionID string        `json:"inspection_id,omitempty"`
	Item         string        `json:"item,omitempty"`
	Description  string        `json:"description"`
	Severity     string        `json:"severity"`
	Photos       []string      `json:"photos"`
	Lon          float64       `json:"lon"`
	Lat          float64       `json:"lat"`
	Status       string        `json:"status"`
	Overdue      *bool         `json:"overdue,omitempty"` // set on API answers, as of the request
	Notice       *Notice       `json:"notice"`
	ReportedBy   string        `json:"reported_by"`
	ReportedAt   time.Time     `json:"reported_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	History      []HazardEvent `json:"history"`
}

// IsOverdue reports whether h is past its deadline at now and not yet reinspected or closed.
func (h *Hazard) IsOverdue(now time.Time) bool {
	return h.Notice != nil && (h.Status == HazardNotified || h.Status == HazardRectifying) && now.After(h.Notice.Deadline)
}

// Notice is a rectification notice (整改通知书).
type Notice struct {
	Number   string    `json:"number"` // "<unit short>-<yyyy>-<seq>"
	Deadline time.Time `json:"deadline"`
	IssuedAt time.Time `json:"issued_at"`
	IssuedBy string    `json:"issued_by"`
	Note     string    `json:"note,omitempty"`
}

// HazardEvent is one event of a hazard's history: a terminal's fact or a console action. An
// event not valid in the state it met is kept, Superseded, with the Reason.
type HazardEvent struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`   // report, notice, rectify, reinspect, close
	Source     string     `json:"source"` // terminal or console
	At         time.Time  `json:"at"`
	By         string     `json:"by"`
	DeviceID   string     `json:"device_id,omitempty"`
	Action     string     `json:"action,omitempty"`
	Note       string     `json:"note,omitempty"`
	Pass       *bool      `json:"pass,omitempty"`
	Photos     []string   `json:"photos,omitempty"`
	NoticeNo   string     `json:"notice_no,omitempty"`
	Deadline   *time.Time `json:"deadline,omitempty"`
	From       string     `json:"from,omitempty"` // the status before; empty when superseded
	To         string     `json:"to,omitempty"`
	Superseded bool       `json:"superseded"`
	Reason     string     `json:"reason,omitempty"`
}

// Task kinds and statuses.
const (
	TaskInspectVenue = "inspect_venue"
	TaskPatrolCell   = "patrol_cell"
	TaskVerifyHazard = "verify_hazard"

	TaskDispatched = "dispatched"
	TaskFeedback   = "feedback"
	TaskVerified   = "verified"
	TaskSentBack   = "sent_back"
)

// Task is work a commander dispatched (研判 → 派单 → 反馈 → 核查): a fold of its events.
type Task struct {
	ID         string      `json:"id"`
	Kind       string      `json:"kind"`
	Target     string      `json:"target"`
	OrgUnitID  string      `json:"org_unit_id"`
	AssigneeID string      `json:"assignee_id,omitempty"`
	Due        *time.Time  `json:"due"`
	Note       string      `json:"note"`
	Status     string      `json:"status"`
	Feedback   *TaskEvent  `json:"feedback"` // the feedback that counts (the last valid one)
	CreatedBy  string      `json:"created_by"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	History    []TaskEvent `json:"history"`
}

// TaskEvent is one event of a task's history.
type TaskEvent struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"` // dispatch, feedback, verify
	Source     string    `json:"source"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	DeviceID   string    `json:"device_id,omitempty"`
	Status     string    `json:"status,omitempty"` // of a feedback: done, partial, unable
	Accept     *bool     `json:"accept,omitempty"` // of a verify
	Note       string    `json:"note,omitempty"`
	Photos     []string  `json:"photos,omitempty"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Superseded bool      `json:"superseded"`
	Reason     string    `json:"reason,omitempty"`
}

// InspectEvent is a console action on a hazard or a task, stored insert-only. Its ID is
// "<target>/<n>": the n-th console action on the target, so two servers acting on one target
// at once collide on the id and one is refused.
type InspectEvent struct {
	ID        string
	Kind      string // hazard.notice, hazard.rectify, hazard.reinspect, hazard.close, task.dispatch, task.verify
	Target    string // the hazard or task id
	At        time.Time
	UserID    string
	OrgUnitID string // the acting user's unit, or the task's unit for a dispatch
	Note      string
	Action    string
	Pass      *bool // reinspect; verify (accept)
	NoticeNo  string
	Deadline  time.Time
	Photos    []string
	// Task dispatch.
	TaskKind   string
	TaskTarget string
	AssigneeID string
	Due        time.Time
}

// Publication is a derived record (a hazard, a task) as last published to the change feed,
// kept so that a restart neither re-publishes what did not change nor reuses a feed version.
type Publication struct {
	Collection string
	ID         string
	Unit       string
	PastUnits  []string
	Deleted    bool
	Doc        []byte // the record as terminals pull it (JSON)
	Version    int64  // bumped by every change; stores compare-and-set on it
	Rev        int64  // the change feed's version
}

// InspectState is everything of venue inspections the store keeps, loaded at start.
type InspectState struct {
	Venues       []*Venue
	Checklists   []*Checklist // every version
	Events       []*InspectEvent
	Publications []*Publication
}

// InspectStore keeps venues, checklists, console actions on hazards and tasks, and the
// published state of derived records. Reads happen at start; writes come from one writer.
//
// PutVenue and PutPublication insert a record whose Version is 1 and otherwise replace the
// stored record whose Version is one less; they return ECONFLICT if the stored version differs.
// InsertChecklist and InsertInspectEvent are insert-only and return ECONFLICT if the checklist
// version or the event id exists.
type InspectStore interface {
	LoadInspect(ctx context.Context) (*InspectState, error)

	PutVenue(ctx context.Context, v *Venue) error
	InsertChecklist(ctx context.Context, c *Checklist) error
	InsertInspectEvent(ctx context.Context, e *InspectEvent) error
	PutPublication(ctx context.Context, p *Publication) error
}
