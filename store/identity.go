package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/paulmach/orb/encoding/wkb"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var _ beatgrid.IdentityStore = (*DB)(nil)

// Documents as stored. Times are UTC; geometry is WKB (FerretDB rejects nested arrays).

type orgUnitDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	Name      string    `bson:"name"`
	ParentID  string    `bson:"parent_id,omitempty"`
	Boundary  []byte    `bson:"boundary_wkb,omitempty"`
	Cells     []byte    `bson:"cells,omitempty"` // little-endian uint64 keys
	CellZoom  int       `bson:"cell_zoom,omitempty"`
	Deleted   bool      `bson:"deleted,omitempty"`
	Version   int64     `bson:"version"`
	Rev       int64     `bson:"rev"`
	Past      []string  `bson:"past_parents,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
}

type userDoc struct {
	ID           string    `bson:"_id"`
	Username     string    `bson:"username"`
	DisplayName  string    `bson:"display_name"`
	Roles        []string  `bson:"roles"`
	OrgUnitID    string    `bson:"org_unit_id"`
	Disabled     bool      `bson:"disabled"`
	PasswordHash string    `bson:"password_hash"`
	LockedUntil  time.Time `bson:"locked_until,omitempty"`
	Epoch        int64     `bson:"epoch"`
	Version      int64     `bson:"version"`
	CreatedAt    time.Time `bson:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at"`
}

type deviceDoc struct {
	ID              string    `bson:"_id"`
	Name            string    `bson:"name"`
	OrgUnitID       string    `bson:"org_unit_id"`
	EnrollCodeHash  string    `bson:"enroll_code_hash,omitempty"`
	EnrollExpiresAt time.Time `bson:"enroll_expires_at,omitempty"`
	HardwareID      string    `bson:"hardware_id,omitempty"`
	SecretHash      string    `bson:"secret_hash,omitempty"`
	EnrolledAt      time.Time `bson:"enrolled_at,omitempty"`
	RevokedAt       time.Time `bson:"revoked_at,omitempty"`
	Epoch           int64     `bson:"epoch"`
	Version         int64     `bson:"version"`
	CreatedAt       time.Time `bson:"created_at"`
	UpdatedAt       time.Time `bson:"updated_at"`
}

type refreshTokenDoc struct {
	ID          string    `bson:"_id"`
	Family      string    `bson:"family"`
	UserID      string    `bson:"user_id"`
	DeviceID    string    `bson:"device_id,omitempty"`
	UserEpoch   int64     `bson:"user_epoch"`
	DeviceEpoch int64     `bson:"device_epoch,omitempty"`
	IssuedAt    time.Time `bson:"issued_at"`
	ExpiresAt   time.Time `bson:"expires_at"`
}

// markDoc records that a token was spent or a family revoked; the _id's uniqueness makes the
// first writer win on every backend.
type markDoc struct {
	ID        string    `bson:"_id"`
	At        time.Time `bson:"at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

type signingKeyDoc struct {
	ID            string    `bson:"_id"`
	Algorithm     string    `bson:"alg"`
	PublicKey     []byte    `bson:"public_key"`
	SealedPrivate []byte    `bson:"sealed_private"`
	CreatedAt     time.Time `bson:"created_at"`
	RetireAt      time.Time `bson:"retire_at"`
}

func toOrgUnitDoc(u *beatgrid.OrgUnit) (*orgUnitDoc, error) {
	d := &orgUnitDoc{ID: u.ID, Kind: u.Kind, Name: u.Name, ParentID: u.ParentID, Version: u.Version, Rev: u.Rev,
		Past: u.PastParents, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
		Cells: packCells(u.Cells), CellZoom: u.CellZoom, Deleted: u.Deleted}
	if u.Boundary != nil {
		b, err := wkb.Marshal(u.Boundary)
		if err != nil {
			return nil, fmt.Errorf("store: org unit %s boundary: %w", u.ID, err)
		}
		d.Boundary = b
	}
	return d, nil
}

func fromOrgUnitDoc(d *orgUnitDoc) (*beatgrid.OrgUnit, error) {
	u := &beatgrid.OrgUnit{ID: d.ID, Kind: d.Kind, Name: d.Name, ParentID: d.ParentID, Version: d.Version, Rev: d.Rev,
		PastParents: d.Past, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		CellZoom: d.CellZoom, Deleted: d.Deleted}
	if len(d.Cells)%8 != 0 {
		return nil, fmt.Errorf("store: org unit %s cells: %d bytes, not a multiple of 8", d.ID, len(d.Cells))
	}
	u.Cells = unpackCells(d.Cells)
	if len(d.Boundary) > 0 {
		g, err := wkb.Unmarshal(d.Boundary)
		if err != nil {
			return nil, fmt.Errorf("store: org unit %s boundary: %w", d.ID, err)
		}
		u.Boundary = g
	}
	return u, nil
}

func toUserDoc(u *beatgrid.User) *userDoc {
	return &userDoc{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles,
		OrgUnitID: u.OrgUnitID, Disabled: u.Disabled, PasswordHash: u.PasswordHash,
		LockedUntil: u.LockedUntil.UTC(), Epoch: u.Epoch, Version: u.Version,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

func fromUserDoc(d *userDoc) *beatgrid.User {
	return &beatgrid.User{ID: d.ID, Username: d.Username, DisplayName: d.DisplayName, Roles: d.Roles,
		OrgUnitID: d.OrgUnitID, Disabled: d.Disabled, PasswordHash: d.PasswordHash,
		LockedUntil: utc(d.LockedUntil), Epoch: d.Epoch, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func toDeviceDoc(v *beatgrid.Device) *deviceDoc {
	return &deviceDoc{ID: v.ID, Name: v.Name, OrgUnitID: v.OrgUnitID, EnrollCodeHash: v.EnrollCodeHash,
		EnrollExpiresAt: v.EnrollExpiresAt.UTC(), HardwareID: v.HardwareID, SecretHash: v.SecretHash,
		EnrolledAt: v.EnrolledAt.UTC(), RevokedAt: v.RevokedAt.UTC(), Epoch: v.Epoch, Version: v.Version,
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func fromDeviceDoc(d *deviceDoc) *beatgrid.Device {
	return &beatgrid.Device{ID: d.ID, Name: d.Name, OrgUnitID: d.OrgUnitID, EnrollCodeHash: d.EnrollCodeHash,
		EnrollExpiresAt: utc(d.EnrollExpiresAt), HardwareID: d.HardwareID, SecretHash: d.SecretHash,
		EnrolledAt: utc(d.EnrolledAt), RevokedAt: utc(d.RevokedAt), Epoch: d.Epoch, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// utc keeps a zero time zero (time.Time{}.UTC() is zero too, but BSON turns the zero time into
// year 1 in UTC and back into a non-zero Local time).
func utc(t time.Time) time.Time {
	if t.IsZero() || t.Unix() == (time.Time{}).Unix() {
		return time.Time{}
	}
	return t.UTC()
}

// LoadIdentity reads the identity collections in one pass each.
func (db *DB) LoadIdentity(ctx context.Context, now time.Time) (*beatgrid.IdentityState, error) {
	st := &beatgrid.IdentityState{}
	var units []*orgUnitDoc
	if err := db.all(ctx, collOrgUnits, bson.D{}, &units); err != nil {
		return nil, err
	}
	for _, d := range units {
		u, err := fromOrgUnitDoc(d)
		if err != nil {
			return nil, err
		}
		st.OrgUnits = append(st.OrgUnits, u)
	}
	var users []*userDoc
	if err := db.all(ctx, collUsers, bson.D{}, &users); err != nil {
		return nil, err
	}
	for _, d := range users {
		st.Users = append(st.Users, fromUserDoc(d))
	}
	var devices []*deviceDoc
	if err := db.all(ctx, collDevices, bson.D{}, &devices); err != nil {
		return nil, err
	}
	for _, d := range devices {
		st.Devices = append(st.Devices, fromDeviceDoc(d))
	}
	live := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}}}
	var tokens []*refreshTokenDoc
	if err := db.all(ctx, collRefreshTokens, live, &tokens); err != nil {
		return nil, err
	}
	for _, d := range tokens {
		st.RefreshTokens = append(st.RefreshTokens, &beatgrid.RefreshToken{ID: d.ID, Family: d.Family,
			UserID: d.UserID, DeviceID: d.DeviceID, UserEpoch: d.UserEpoch, DeviceEpoch: d.DeviceEpoch,
			IssuedAt: d.IssuedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC()})
	}
	var err error
	if st.SpentTokens, err = db.markIDs(ctx, collRefreshSpent, live); err != nil {
		return nil, err
	}
	if st.RevokedFamilies, err = db.markIDs(ctx, collRevokedFamilies, live); err != nil {
		return nil, err
	}
	return st, nil
}

func (db *DB) markIDs(ctx context.Context, coll string, filter bson.D) ([]string, error) {
	var marks []*markDoc
	if err := db.all(ctx, coll, filter, &marks); err != nil {
		return nil, err
	}
	ids := make([]string, len(marks))
	for i, m := range marks {
		ids[i] = m.ID
	}
	return ids, nil
}

// all decodes every document of coll matching filter into out (a pointer to a slice).
func (db *DB) all(ctx context.Context, coll string, filter bson.D, out any) error {
	cur, err := db.coll(coll).Find(ctx, filter)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", coll, err)
	}
	if err := cur.All(ctx, out); err != nil {
		return fmt.Errorf("store: read %s: %w", coll, err)
	}
	return nil
}

// put inserts doc when version is 1 and otherwise replaces the stored document of version-1.
// The embedded store does not make the replace atomic; callers keep one writer per record.
func (db *DB) put(ctx context.Context, coll, id string, version int64, doc any) error {
	defer db.writing()()
	if version < 1 {
		return fmt.Errorf("store: put %s %s: version %d < 1", coll, id, version)
	}
	if version == 1 {
		_, err := db.coll(coll).InsertOne(ctx, doc)
		if isDup(err) {
			return beatgrid.Errorf(beatgrid.ECONFLICT, "A record with this id or name exists.")
		} else if err != nil {
			return fmt.Errorf("store: insert %s %s: %w", coll, id, err)
		}
		return nil
	}
	filter := bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version - 1}}
	res, err := db.coll(coll).ReplaceOne(ctx, filter, doc)
	if isDup(err) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "A record with this name exists.")
	} else if err != nil {
		return fmt.Errorf("store: replace %s %s: %w", coll, id, err)
	}
	if res.MatchedCount == 0 {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "The record was changed meanwhile; reload and retry.")
	}
	return nil
}

// PutOrgUnit stores u (see beatgrid.IdentityStore).
func (db *DB) PutOrgUnit(ctx context.Context, u *beatgrid.OrgUnit) error {
	d, err := toOrgUnitDoc(u)
	if err != nil {
		return err
	}
	return db.put(ctx, collOrgUnits, u.ID, u.Version, d)
}

// PutUser stores u (see beatgrid.IdentityStore).
func (db *DB) PutUser(ctx context.Context, u *beatgrid.User) error {
	return db.put(ctx, collUsers, u.ID, u.Version, toUserDoc(u))
}

// PutDevice stores d (see beatgrid.IdentityStore).
func (db *DB) PutDevice(ctx context.Context, d *beatgrid.Device) error {
	return db.put(ctx, collDevices, d.ID, d.Version, toDeviceDoc(d))
}

// InsertRefreshToken stores t.
func (db *DB) InsertRefreshToken(ctx context.Context, t *beatgrid.RefreshToken) error {
	defer db.writing()()
	_, err := db.coll(collRefreshTokens).InsertOne(ctx, &refreshTokenDoc{ID: t.ID, Family: t.Family,
		UserID: t.UserID, DeviceID: t.DeviceID, UserEpoch: t.UserEpoch, DeviceEpoch: t.DeviceEpoch,
		IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()})
	if err != nil {
		return fmt.Errorf("store: insert refresh token: %w", err)
	}
	return nil
}

// SpendRefreshToken marks t used; ECONFLICT if it was used before.
func (db *DB) SpendRefreshToken(ctx context.Context, t *beatgrid.RefreshToken, at time.Time) error {
	defer db.writing()()
	_, err := db.coll(collRefreshSpent).InsertOne(ctx, &markDoc{ID: t.ID, At: at.UTC(), ExpiresAt: t.ExpiresAt.UTC()})
	if isDup(err) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "Refresh token already used.")
	} else if err != nil {
		return fmt.Errorf("store: spend refresh token: %w", err)
	}
	return nil
}

// RevokeFamily records that no token of family may be used again; until is the latest expiry
// of its tokens, after which the mark may go. Revoking twice is not an error.
func (db *DB) RevokeFamily(ctx context.Context, family string, at, until time.Time) error {
	defer db.writing()()
	_, err := db.coll(collRevokedFamilies).InsertOne(ctx, &markDoc{ID: family, At: at.UTC(), ExpiresAt: until.UTC()})
	if err != nil && !isDup(err) {
		return fmt.Errorf("store: revoke refresh family: %w", err)
	}
	return nil
}

// PruneRefreshTokens deletes tokens and marks that expired before t.
func (db *DB) PruneRefreshTokens(ctx context.Context, t time.Time) (int64, error) {
	defer db.writing()()
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: t.UTC()}}}}
	var n int64
	for _, coll := range []string{collRefreshTokens, collRefreshSpent, collRevokedFamilies} {
		res, err := db.coll(coll).DeleteMany(ctx, expired)
		if err != nil {
			return n, fmt.Errorf("store: prune %s: %w", coll, err)
		}
		n += res.DeletedCount
	}
	return n, nil
}

// SigningKeys returns every stored key, newest first.
func (db *DB) SigningKeys(ctx context.Context) ([]*beatgrid.SigningKey, error) {
	var docs []*signingKeyDoc
	if err := db.all(ctx, collSigningKeys, bson.D{}, &docs); err != nil {
		return nil, err
	}
	keys := make([]*beatgrid.SigningKey, len(docs))
	for i, d := range docs {
		keys[i] = &beatgrid.SigningKey{ID: d.ID, Algorithm: d.Algorithm, PublicKey: d.PublicKey,
			SealedPrivate: d.SealedPrivate, CreatedAt: d.CreatedAt.UTC(), RetireAt: d.RetireAt.UTC()}
	}
	sortKeys(keys)
	return keys, nil
}

// InsertSigningKey stores k; ECONFLICT if its id exists.
func (db *DB) InsertSigningKey(ctx context.Context, k *beatgrid.SigningKey) error {
	defer db.writing()()
	_, err := db.coll(collSigningKeys).InsertOne(ctx, &signingKeyDoc{ID: k.ID, Algorithm: k.Algorithm,
		PublicKey: k.PublicKey, SealedPrivate: k.SealedPrivate, CreatedAt: k.CreatedAt.UTC(), RetireAt: k.RetireAt.UTC()})
	if isDup(err) {
		return beatgrid.Errorf(beatgrid.ECONFLICT, "Signing key %s exists.", k.ID)
	} else if err != nil {
		return fmt.Errorf("store: insert signing key: %w", err)
	}
	return nil
}

// sortKeys orders keys newest first (ties by id, for one order on every server).
func sortKeys(keys []*beatgrid.SigningKey) {
	slices.SortFunc(keys, func(a, b *beatgrid.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// packCells stores cell keys as little-endian bytes: an array of int64 would cost 10 bytes
// of BSON per key and would not hold the top bit.
func packCells(cells []uint64) []byte {
	if len(cells) == 0 {
		return nil
	}
	b := make([]byte, 8*len(cells))
	for i, c := range cells {
		binary.LittleEndian.PutUint64(b[8*i:], c)
	}
	return b
}

func unpackCells(b []byte) []uint64 {
	if len(b) == 0 {
		return nil
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}
