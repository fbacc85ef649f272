package models_test

import (
	"testing"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/providers/syncer/storetest"
)

// TestArchiveKeepsTheStoreContract runs the sync engine's store contract
// (the same cases its in-memory fake is held to) against the archive on a
// real SQLite file.
func TestArchiveKeepsTheStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Contract(t, func(t *testing.T) syncer.Store {
		db, _ := openDB(t)
		newAccount(t, db, "sendbird")
		newAccount(t, db, "alibaba")
		return db
	})
}
