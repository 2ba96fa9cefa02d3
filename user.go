package beatgrid

import (
	"slices"
	"time"
)

// Roles a user may hold.
const (
	RoleOfficer   = "officer"   // patrols, punches checkpoints, signs in on terminals
	RoleInspector = "inspector" // inspects venues, reports hazards
	RoleCommander = "commander" // watches coverage, dispatches tasks, acknowledges alerts
	RoleAdmin     = "admin"     // manages org units, users and devices in his scope
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	return r == RoleOfficer || r == RoleInspector || r == RoleCommander || r == RoleAdmin
}

// User is a person who signs in: an officer on a terminal or a commander at the console.
type User struct {
	ID          string
	Username    string
	DisplayName string
	Roles       []string
	OrgUnitID   string // home unit: the user's scope is its subtree
	Disabled    bool

	PasswordHash string    // PHC-format argon2id
	LockedUntil  time.Time // set after repeated failed sign-ins

	// Epoch rises whenever the user's existing tokens must stop working (disabled, password
	// or roles changed); access tokens carry the epoch they were issued under.
	Epoch int64

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasRole reports whether u holds role r.
func (u *User) HasRole(r string) bool { return slices.Contains(u.Roles, r) }

// Device is a handheld terminal. It is created by an admin with a one-time enrollment code,
// enrolled once (receiving its secret), and bound to one org unit.
type Device struct {
	ID        string
	Name      string
	OrgUnitID string

	EnrollCodeHash  string // sha256 of the one-time code, until used
	EnrollExpiresAt time.Time

	HardwareID string
	SecretHash string // sha256 of the device secret, set at enrollment
	EnrolledAt time.Time
	RevokedAt  time.Time // non-zero once revoked: every token of the device fails at once

	Epoch int64 // rises when the device is revoked

	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Device states as shown by the API.
const (
	DevicePending = "pending" // created, not yet enrolled
	DeviceActive  = "active"
	DeviceRevoked = "revoked"
)

// Status returns the device's state.
func (d *Device) Status() string {
	switch {
	case !d.RevokedAt.IsZero():
		return DeviceRevoked
	case d.SecretHash == "":
		return DevicePending
	default:
		return DeviceActive
	}
}

// RefreshToken is one opaque refresh token, stored by the hash of its value. Tokens of one
// sign-in form a family; each use spends the token and issues the next of the family.
type RefreshToken struct {
	ID       string // hex sha256 of the token value
	Family   string
	UserID   string
	DeviceID string // empty for console sign-ins
	// The user's and device's epochs when the family signed in: a refresh after either moved
	// on (disabled, password changed, revoked …) fails.
	UserEpoch   int64
	DeviceEpoch int64
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// SigningKey is a key pair that signs access tokens. The private half is stored sealed with
// the server's master key, so servers sharing a database share keys.
type SigningKey struct {
	ID            string // the JWT "kid"
	Algorithm     string // "EdDSA"
	PublicKey     []byte
	SealedPrivate []byte
	CreatedAt     time.Time
	RetireAt      time.Time // stops signing then; verifies until RetireAt + the access token TTL
}

// Principal is who makes a request: the signed-in user, his roles and scope, and the device
// he signed in on (empty at the console).
type Principal struct {
	UserID    string
	Username  string
	Roles     []string
	OrgUnitID string
	DeviceID  string
}

// HasRole reports whether p holds any of roles.
func (p *Principal) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}
