package patrol

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/geo"
	bgsync "github.com/beatgrid/beatgrid/sync"
	"github.com/paulmach/orb"
)

// punch is a checkpoint punch as folded.
type punch struct {
	checkpointID, tag string
	at                orb.Point
	t                 time.Time
	prevHash, hash    string
	mock              bool
	skew              bool // the terminal's clock was off when it sent the punch (sync's flag)
}

func (s *Service) foldPunch(m *beatgrid.Mutation) {
	var f bgsync.CheckpointPunch
	if json.Unmarshal(m.Fact, &f) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hash := f.ChainHash()
	ses := s.session(f.PatrolID, m)
	defer s.touch(ses)
	ses.punches[m.DeviceID+"/"+m.ID] = punch{checkpointID: f.CheckpointID, tag: f.Tag,
		at: orb.Point{f.Lon, f.Lat}, t: f.T, prevHash: f.PrevHash, hash: hash, mock: f.MockLocation,
		skew: slices.Contains(m.Flags, "clock_skew")}
	if s.chains[m.DeviceID] == nil {
		s.chains[m.DeviceID] = map[string]bool{}
	}
	s.chains[m.DeviceID][hash] = true
}

// Punches sums up a patrol's checkpoint punches.
type Punches struct {
	Punched      int      // punches received
	Verified     int      // with the checkpoint's tag, within its radius
	Missed       []string // checkpoints of the patrol's route with no verified punch
	ChainBreaks  int      // punches whose previous punch never arrived: deleted, or slipped in
	MockLocation int      // punches the terminal flagged as from a mock location provider
	ClockSkew    int      // punches sent from a terminal whose clock was off: their times are suspect
}

// punchStats verifies the session's punches against the checkpoints and the device's chain.
// Call with s.mu held.
func (s *Service) punchStats(p *session, route string) Punches {
	var st Punches
	verified := map[string]bool{}
	for _, pu := range p.punches {
		st.Punched++
		if pu.mock {
			st.MockLocation++
		}
		if pu.skew {
			st.ClockSkew++
		}
		if pu.prevHash != "" && !s.chains[p.deviceID][pu.prevHash] {
			st.ChainBreaks++
		}
		if s.places != nil && s.verify(pu) {
			st.Verified++
			verified[pu.checkpointID] = true
		}
	}
	if s.places == nil {
		return st
	}
	if r := s.places.routeByID(route); r != nil {
		for _, id := range r.CheckpointIDs {
			if !verified[id] && !slices.Contains(st.Missed, id) {
				st.Missed = append(st.Missed, id)
			}
		}
	}
	return st
}

// verify reports whether a punch read the checkpoint's tag within its radius.
func (s *Service) verify(pu punch) bool {
	cp := s.places.checkpointByID(pu.checkpointID)
	return cp != nil && cp.Tag == pu.tag && geo.WithinRadius(pu.at, cp.Point, cp.RadiusM)
}
