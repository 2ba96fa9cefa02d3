package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beatgrid/beatgrid"
)

// keyring holds the signing keys shared through the database. The newest key that has not
// reached its RetireAt signs; every key verifies until RetireAt plus the access token TTL, so
// a rotation never breaks a token in flight.
type keyring struct {
	store     beatgrid.IdentityStore
	master    cipher.AEAD
	rotate    time.Duration // how long a key signs
	verifyFor time.Duration // how long after retiring it still verifies

	mu         sync.RWMutex
	keys       []*key // newest first
	lastReload time.Time
}

type key struct {
	meta    *beatgrid.SigningKey
	public  ed25519.PublicKey
	private ed25519.PrivateKey
}

func newKeyring(st beatgrid.IdentityStore, masterKey []byte, rotate, verifyFor time.Duration) (*keyring, error) {
	if len(masterKey) != 32 {
		return nil, fmt.Errorf("auth: master key must be 32 bytes, got %d", len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("auth: master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: master key: %w", err)
	}
	return &keyring{store: st, master: aead, rotate: rotate, verifyFor: verifyFor}, nil
}

// load reads every key from the store and opens the private halves. A key sealed with another
// master key is an error: servers sharing a database must share the master key.
func (r *keyring) load(ctx context.Context, now time.Time) error {
	metas, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("auth: load signing keys: %w", err)
	}
	keys := make([]*key, 0, len(metas))
	for _, m := range metas {
		if now.After(m.RetireAt.Add(r.verifyFor)) {
			continue // neither signs nor verifies any more
		}
		priv, err := r.open(m)
		if err != nil {
			return err
		}
		keys = append(keys, &key{meta: m, public: ed25519.PublicKey(m.PublicKey), private: priv})
	}
	r.mu.Lock()
	r.keys, r.lastReload = keys, now
	r.mu.Unlock()
	return nil
}

func (r *keyring) seal(kid string, priv ed25519.PrivateKey) []byte {
	nonce := make([]byte, r.master.NonceSize())
	_, _ = rand.Read(nonce)
	return r.master.Seal(nonce, nonce, priv.Seed(), []byte(kid))
}

func (r *keyring) open(m *beatgrid.SigningKey) (ed25519.PrivateKey, error) {
	n := r.master.NonceSize()
	if len(m.SealedPrivate) < n {
		return nil, fmt.Errorf("auth: signing key %s: sealed key too short", m.ID)
	}
	seed, err := r.master.Open(nil, m.SealedPrivate[:n], m.SealedPrivate[n:], []byte(m.ID))
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %s does not open with this master key (servers sharing a database need the same BEATGRID_MASTER_KEY): %w", m.ID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("auth: signing key %s: bad seed", m.ID)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// signer returns the key to sign with at now, creating and storing a new one when none is
// current. Callers serialise creation (the service's writer lock); if another server created a
// key meanwhile, both keys are valid and both verify after a reload.
func (r *keyring) signer(ctx context.Context, now time.Time) (*key, error) {
	r.mu.RLock()
	var cur *key
	if len(r.keys) > 0 && now.Before(r.keys[0].meta.RetireAt) {
		cur = r.keys[0]
	}
	r.mu.RUnlock()
	if cur != nil {
		return cur, nil
	}
	return r.create(ctx, now)
}

func (r *keyring) create(ctx context.Context, now time.Time) (*key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generate signing key: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(pub[:12])
	m := &beatgrid.SigningKey{ID: kid, Algorithm: "EdDSA", PublicKey: pub, SealedPrivate: r.seal(kid, priv),
		CreatedAt: now, RetireAt: now.Add(r.rotate)}
	if err := r.store.InsertSigningKey(ctx, m); err != nil {
		return nil, fmt.Errorf("auth: store signing key: %w", err)
	}
	k := &key{meta: m, public: pub, private: priv}
	r.mu.Lock()
	r.keys = append([]*key{k}, r.keys...)
	r.mu.Unlock()
	return k, nil
}

var errUnknownKey = errors.New("unknown signing key")

// verifier returns the public key with kid. An unknown kid triggers one reload from the store
// at most every few seconds (another server may have rotated), then fails.
func (r *keyring) verifier(ctx context.Context, kid string, now time.Time) (ed25519.PublicKey, error) {
	if k := r.find(kid, now); k != nil {
		return k, nil
	}
	r.mu.RLock()
	recent := now.Sub(r.lastReload) < 5*time.Second
	r.mu.RUnlock()
	if !recent {
		if err := r.load(ctx, now); err != nil {
			return nil, err
		}
		if k := r.find(kid, now); k != nil {
			return k, nil
		}
	}
	return nil, errUnknownKey
}

func (r *keyring) find(kid string, now time.Time) ed25519.PublicKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.meta.ID == kid && now.Before(k.meta.RetireAt.Add(r.verifyFor)) {
			return k.public
		}
	}
	return nil
}

// JWK is one public key as served at /.well-known/jwks.json (RFC 8037 for Ed25519).
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use"`
}

func (r *keyring) jwks(now time.Time) []JWK {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []JWK{}
	for _, k := range r.keys {
		if now.Before(k.meta.RetireAt.Add(r.verifyFor)) {
			out = append(out, JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public),
				KeyID: k.meta.ID, Algorithm: "EdDSA", Use: "sig"})
		}
	}
	return out
}
