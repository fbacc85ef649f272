package syncer_test

import (
	"testing"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/providers/syncer/storetest"
)

// The engine's fake store keeps the contract models' archive keeps, so the
// engine's tests mean something.
func TestFakeStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Contract(t, func(t *testing.T) syncer.Store { return syncer.NewFakeStore() })
}
