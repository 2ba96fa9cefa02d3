package auth

import (
	"context"
	"time"

	"github.com/beatgrid/beatgrid"
)

// dummySecretHash is compared against when a device is unknown or not active, so that a miss
// costs what a hit costs.
var dummySecretHash = hashSecret("beatgrid-dummy-device-secret")

// VerifyDevice checks a device's own credential, as device-login does (constant time; a
// device pending enrollment or revoked fails), for sources that send no token: tracking apps
// (OsmAnd, Traccar Client) posting one fix a request. Every failure gives the same 401 and
// counts against ip; an ip over the sign-in limit is refused with a RateLimitError before any
// check. Successes cost no token, so many devices behind one address are not slowed.
func (s *Service) VerifyDevice(ctx context.Context, ip, deviceID, secret string) (*beatgrid.Device, error) {
	now := s.cfg.Now()
	if blocked, wait := s.byIP.blocked(ip, now); blocked {
		return nil, &RateLimitError{RetryAfter: wait}
	}
	var d *beatgrid.Device
	s.read(func(st *state) { d = st.devices[deviceID] })
	active := d != nil && d.Status() == beatgrid.DeviceActive
	hash := dummySecretHash
	if active {
		hash = d.SecretHash
	}
	if secretMatches(secret, hash) && active {
		return d, nil
	}
	if err := s.limit(s.byIP, ip); err != nil {
		return nil, err
	}
	s.cfg.Logger.DebugContext(ctx, "device credential refused", "device", deviceID, "ip", ip)
	return nil, errBadCredentials
}

// blocked reports, without taking a token, whether key has none left at now, and how long
// until one is.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	if tokens < 1 {
		return true, time.Duration((1 - tokens) * float64(l.every))
	}
	return false, 0
}
