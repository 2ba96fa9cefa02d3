package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	Username    string   `json:"name"`
	Roles       []string `json:"roles"`
	OrgUnitID   string   `json:"org"`
	DeviceID    string   `json:"dev,omitempty"`
	UserEpoch   int64    `json:"uep"`
	DeviceEpoch int64    `json:"dep,omitempty"`
}

// signAccess signs claims with the current key, naming it in the "kid" header.
func (s *Service) signAccess(ctx context.Context, c *accessClaims, now time.Time) (string, error) {
	k, err := s.keys.signer(ctx, now)
	if err != nil {
		return "", err
	}
	c.Issuer = s.cfg.Issuer
	c.Audience = jwt.ClaimStrings{s.cfg.Audience}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(s.cfg.AccessTTL))
	c.ID = uuid.NewString()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = k.meta.ID
	signed, err := tok.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("auth: sign access token: %w", err)
	}
	return signed, nil
}

// parseAccess verifies a token's signature, algorithm, issuer, audience and times, or finds
// it verified in the cache.
func (s *Service) parseAccess(ctx context.Context, raw string) (*accessClaims, error) {
	now := s.cfg.Now()
	if c := s.verified.get(raw, now, s.cfg.Leeway); c != nil {
		return c, nil
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithTimeFunc(s.cfg.Now),
		jwt.WithStrictDecoding(),
	)
	c := &accessClaims{}
	_, err := p.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		return s.keys.verifier(ctx, kid, now)
	})
	if err != nil {
		return nil, err
	}
	if c.Subject == "" || c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > s.cfg.AccessTTL+time.Second {
		return nil, errors.New("bad claims")
	}
	s.verified.put(raw, c, now, s.cfg.Leeway)
	return c, nil
}
