package auth

import (
	"context"
	"testing"
	"time"

	"github.com/beatgrid/beatgrid"
)

// TestHashSlots: no more argon2id runs than slots at once; a caller that cannot get one in
// time is told the server is busy, not that its password is wrong.
func TestHashSlots(t *testing.T) {
	h := newHashSlots(1, 50*time.Millisecond)
	hold, held := make(chan struct{}), make(chan struct{})
	go h.do(context.Background(), func() { close(held); <-hold })
	<-held
	ok, err := h.check(context.Background(), dummyHash, "beatgrid-dummy-password")
	if beatgrid.ErrorCode(err) != beatgrid.EUNAVAILABLE || ok {
		t.Fatalf("with every slot taken: ok %v, err %v; want EUNAVAILABLE", ok, err)
	}
	close(hold)
	if ok, err := h.check(context.Background(), dummyHash, "beatgrid-dummy-password"); err != nil || !ok {
		t.Fatalf("with a free slot: ok %v, err %v", ok, err)
	}
}
