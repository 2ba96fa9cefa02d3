package beatgrid

import (
	"context"
	"time"
)

// IdentityState is everything identity keeps in memory, as loaded at start in one pass per
// collection.
type IdentityState struct {
	OrgUnits        []*OrgUnit
	Users           []*User
	Devices         []*Device
	RefreshTokens   []*RefreshToken // unexpired ones
	SpentTokens     []string        // ids of refresh tokens already used
	RevokedFamilies []string
}

// IdentityStore keeps identity records durably. Reads happen at start (and, with several
// servers, on a short refresh cycle); writes are small, rare and made by one writer at a time.
//
// Put methods insert a record whose Version is 1 and otherwise replace the stored record whose
// Version is one less than the record's. They return ECONFLICT if the stored version differs
// (another server changed it) or, for an insert, if a record with the same id or unique key
// (username) exists.
type IdentityStore interface {
	LoadIdentity(ctx context.Context, now time.Time) (*IdentityState, error)

	PutOrgUnit(ctx context.Context, u *OrgUnit) error
	PutUser(ctx context.Context, u *User) error
	PutDevice(ctx context.Context, d *Device) error

	// InsertRefreshToken stores a newly issued token.
	InsertRefreshToken(ctx context.Context, t *RefreshToken) error
	// SpendRefreshToken marks t used. It returns ECONFLICT if it was used before: the store is
	// the arbiter between concurrent refreshes, on any number of servers.
	SpendRefreshToken(ctx context.Context, t *RefreshToken, at time.Time) error
	// RevokeFamily records that no token of family may be used again; until is the latest
	// expiry of its tokens. Revoking twice is not an error.
	RevokeFamily(ctx context.Context, family string, at, until time.Time) error
	// PruneRefreshTokens deletes tokens, spent marks and revocations that expired before t.
	PruneRefreshTokens(ctx context.Context, t time.Time) (int64, error)

	// SigningKeys returns every stored key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// InsertSigningKey stores a new key; ECONFLICT if its id exists.
	InsertSigningKey(ctx context.Context, k *SigningKey) error
}
