package beatgrid

import (
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// Org unit kinds, from the top of a bureau's tree down to its patrol grids.
const (
	KindBureau  = "bureau"
	KindZone    = "zone"
	KindStation = "station"
	KindBeat    = "beat"
)

// kindRank orders the kinds: a child's kind ranks below its parent's. A level may be skipped
// (a station straight under a bureau), never inverted.
var kindRank = map[string]int{KindBureau: 0, KindZone: 1, KindStation: 2, KindBeat: 3}

// ValidKind reports whether k is a known org unit kind.
func ValidKind(k string) bool { _, ok := kindRank[k]; return ok }

// CanParent reports whether a unit of kind child may hang below a unit of kind parent.
func CanParent(parent, child string) bool {
	p, ok1 := kindRank[parent]
	c, ok2 := kindRank[child]
	return ok1 && ok2 && c > p
}

// OrgUnit is one node of a bureau's tree. Every record in beatgrid belongs to one; a user's
// scope is the subtree below his unit.
type OrgUnit struct {
	ID       string
	Kind     string
	Name     string
	ParentID string // empty for a root (a bureau)

	// Boundary is the unit's area, a Polygon or MultiPolygon in WGS84; beats carry theirs.
	Boundary orb.Geometry
	// Cells are a beat's coverage cells (geo.Cell keys at CellZoom) covering its Boundary,
	// computed when the boundary is set and stored with it: per-beat coverage is a count.
	Cells    []uint64
	CellZoom int
	// Deleted marks a removed unit (only empty beats are removed); it stays in the tree so
	// that terminals of its scope pull the tombstone.
	Deleted bool

	Version int64 // bumped by every change; stores compare-and-set on it
	Rev     int64 // the change feed's version of the last change (terminals pull by it)
	// PastParents are the parents the unit had before: terminals there get a tombstone.
	PastParents []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// OrgTree answers scope questions over a set of org units. It is a value built from a
// snapshot of the units and never changed; build a new one when a unit changes.
type OrgTree struct {
	units    map[string]*OrgUnit
	children map[string][]string
}

// NewOrgTree indexes units. Units whose parent is unknown count as roots.
func NewOrgTree(units []*OrgUnit) *OrgTree {
	t := &OrgTree{units: make(map[string]*OrgUnit, len(units)), children: map[string][]string{}}
	for _, u := range units {
		t.units[u.ID] = u
	}
	for _, u := range units {
		if u.ParentID != "" {
			t.children[u.ParentID] = append(t.children[u.ParentID], u.ID)
		}
	}
	for _, ids := range t.children {
		slices.Sort(ids)
	}
	return t
}

// Unit returns the unit with id, or nil.
func (t *OrgTree) Unit(id string) *OrgUnit { return t.units[id] }

// Len returns the number of units.
func (t *OrgTree) Len() int { return len(t.units) }

// Within reports whether unit id lies in the subtree rooted at scope (scope itself included).
func (t *OrgTree) Within(scope, id string) bool {
	for depth := 0; id != "" && depth <= len(t.units); depth++ {
		if id == scope {
			return true
		}
		u := t.units[id]
		if u == nil {
			return false
		}
		id = u.ParentID
	}
	return false
}

// Related reports whether a and b lie on one line of descent (either within the other).
func (t *OrgTree) Related(a, b string) bool { return t.Within(a, b) || t.Within(b, a) }

// Subtree returns the ids of scope and every unit below it, parents before children.
func (t *OrgTree) Subtree(scope string) []string {
	if t.units[scope] == nil {
		return nil
	}
	out := []string{scope}
	for i := 0; i < len(out); i++ {
		out = append(out, t.children[out[i]]...)
	}
	return out
}
