package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb"
)

// TestIdentityStore runs the conformance suite of beatgrid.IdentityStore on s, which must be
// empty.
func TestIdentityStore(t *testing.T, s beatgrid.IdentityStore) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

	t.Run("OrgUnitRoundTrip", func(t *testing.T) {
		u := &beatgrid.OrgUnit{ID: "ou-beat-1", Kind: beatgrid.KindBeat, Name: "Beat 1", ParentID: "ou-st",
			Boundary: orb.Polygon{{{120, 30}, {120.01, 30}, {120.01, 30.01}, {120, 30}}},
			Cells:    []uint64{1 << 63, 42, 0x8000_0000_0000_0001}, CellZoom: 18,
			Version: 1, Rev: 7, PastParents: []string{"ou-old"}, CreatedAt: now, UpdatedAt: now}
		mustOK(t, s.PutOrgUnit(ctx, u))
		st := mustLoad(t, s, now)
		got := findByID(st.OrgUnits, func(x *beatgrid.OrgUnit) string { return x.ID }, u.ID)
		if got == nil || got.Name != u.Name || got.ParentID != u.ParentID || !orb.Equal(got.Boundary, u.Boundary) ||
			!got.CreatedAt.Equal(now) || got.Rev != 7 || !slices.Equal(got.PastParents, u.PastParents) ||
			!slices.Equal(got.Cells, u.Cells) || got.CellZoom != 18 || got.Deleted {
			t.Fatalf("loaded %+v, want %+v", got, u)
		}
	})

	t.Run("UserVersions", func(t *testing.T) {
		u := &beatgrid.User{ID: "u-1", Username: "li.wei", Roles: []string{beatgrid.RoleOfficer},
			OrgUnitID: "ou-st", PasswordHash: "$argon2id$x", Version: 1, CreatedAt: now, UpdatedAt: now}
		mustOK(t, s.PutUser(ctx, u))
		mustCode(t, s.PutUser(ctx, u), beatgrid.ECONFLICT) // same id inserted again
		twin := *u
		twin.ID = "u-2"
		mustCode(t, s.PutUser(ctx, &twin), beatgrid.ECONFLICT) // same username

		v2 := *u
		v2.Version, v2.Disabled, v2.Epoch = 2, true, 1
		mustOK(t, s.PutUser(ctx, &v2))
		stale := *u
		stale.Version, stale.DisplayName = 2, "lost update"
		mustCode(t, s.PutUser(ctx, &stale), beatgrid.ECONFLICT) // version 1 is gone

		got := findByID(mustLoad(t, s, now).Users, func(x *beatgrid.User) string { return x.ID }, "u-1")
		if got == nil || !got.Disabled || got.Epoch != 1 || got.Version != 2 || got.DisplayName != "" ||
			!got.LockedUntil.IsZero() || !slices.Equal(got.Roles, u.Roles) {
			t.Fatalf("loaded %+v", got)
		}
	})

	t.Run("DeviceLifecycle", func(t *testing.T) {
		d := &beatgrid.Device{ID: "d-1", Name: "T1", OrgUnitID: "ou-st", EnrollCodeHash: "h",
			EnrollExpiresAt: now.Add(15 * time.Minute), Version: 1, CreatedAt: now, UpdatedAt: now}
		mustOK(t, s.PutDevice(ctx, d))
		if got := findByID(mustLoad(t, s, now).Devices, devID, "d-1"); got.Status() != beatgrid.DevicePending ||
			!got.RevokedAt.IsZero() || !got.EnrolledAt.IsZero() {
			t.Fatalf("new device loaded as %+v", got)
		}
		e := *d
		e.Version, e.EnrollCodeHash, e.SecretHash, e.EnrolledAt = 2, "", "s", now
		mustOK(t, s.PutDevice(ctx, &e))
		r := e
		r.Version, r.RevokedAt, r.Epoch = 3, now.Add(time.Hour), 1
		mustOK(t, s.PutDevice(ctx, &r))
		got := findByID(mustLoad(t, s, now).Devices, devID, "d-1")
		if got.Status() != beatgrid.DeviceRevoked || got.Epoch != 1 || got.EnrollCodeHash != "" {
			t.Fatalf("revoked device loaded as %+v", got)
		}
	})

	t.Run("RefreshTokens", func(t *testing.T) {
		live := &beatgrid.RefreshToken{ID: "t-live", Family: "f1", UserID: "u-1", DeviceID: "d-1", UserEpoch: 3,
			DeviceEpoch: 2, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		old := &beatgrid.RefreshToken{ID: "t-old", Family: "f0", UserID: "u-1", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
		mustOK(t, s.InsertRefreshToken(ctx, live))
		mustOK(t, s.InsertRefreshToken(ctx, old))
		mustOK(t, s.SpendRefreshToken(ctx, live, now))
		mustCode(t, s.SpendRefreshToken(ctx, live, now), beatgrid.ECONFLICT)
		mustOK(t, s.RevokeFamily(ctx, "f1", now, live.ExpiresAt))
		mustOK(t, s.RevokeFamily(ctx, "f1", now, live.ExpiresAt)) // twice is fine
		st := mustLoad(t, s, now)
		if len(st.RefreshTokens) != 1 || *st.RefreshTokens[0] != *live {
			t.Fatalf("live tokens %+v, want only t-live", st.RefreshTokens)
		}
		if !slices.Equal(st.SpentTokens, []string{"t-live"}) || !slices.Equal(st.RevokedFamilies, []string{"f1"}) {
			t.Fatalf("spent %v revoked %v", st.SpentTokens, st.RevokedFamilies)
		}
		n, err := s.PruneRefreshTokens(ctx, now.Add(2*time.Hour))
		mustOK(t, err)
		if n != 4 { // two tokens, one spent mark, one revocation
			t.Fatalf("pruned %d, want 4", n)
		}
		st = mustLoad(t, s, now)
		if len(st.RefreshTokens)+len(st.SpentTokens)+len(st.RevokedFamilies) != 0 {
			t.Fatalf("after prune: %+v", st)
		}
	})

	t.Run("SigningKeys", func(t *testing.T) {
		k1 := &beatgrid.SigningKey{ID: "k1", Algorithm: "EdDSA", PublicKey: []byte{1, 2}, SealedPrivate: []byte{3},
			CreatedAt: now, RetireAt: now.Add(24 * time.Hour)}
		k2 := *k1
		k2.ID, k2.CreatedAt = "k2", now.Add(time.Hour)
		mustOK(t, s.InsertSigningKey(ctx, k1))
		mustOK(t, s.InsertSigningKey(ctx, &k2))
		mustCode(t, s.InsertSigningKey(ctx, k1), beatgrid.ECONFLICT)
		keys, err := s.SigningKeys(ctx)
		mustOK(t, err)
		if len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" || string(keys[1].PublicKey) != "\x01\x02" {
			t.Fatalf("keys %+v, want k2 then k1", keys)
		}
	})
}

func devID(d *beatgrid.Device) string { return d.ID }

func findByID[T any](xs []T, id func(T) string, want string) T {
	var zero T
	for _, x := range xs {
		if id(x) == want {
			return x
		}
	}
	return zero
}

func mustLoad(t *testing.T, s beatgrid.IdentityStore, now time.Time) *beatgrid.IdentityState {
	t.Helper()
	st, err := s.LoadIdentity(context.Background(), now)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	return st
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := beatgrid.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}
