package models

import (
	"context"
	"database/sql"
	"time"
)

// Test hooks for the external tests of this package.

// SQLDB is db's connection pool.
func SQLDB(db *DB) (*sql.DB, error) { return db.g.DB() }

// SearchCached reports whether db's search cache holds an answer to f at
// the archive's current generation.
func SearchCached(ctx context.Context, db *DB, f NoteFilter) (bool, error) {
	gen, err := archiveGeneration(db.g.WithContext(ctx))
	if err != nil {
		return false, err
	}
	_, ok := db.cache.get(searchKey(f), gen)
	return ok, nil
}

// DisableSearchCache makes every search of db read the archive, for the
// benchmarks' cold figures.
func DisableSearchCache(db *DB) { db.cache, db.pages = nil, nil }

// PageCached reports whether NotesPage holds f's page at the archive's
// current generation.
func PageCached(ctx context.Context, db *DB, f NoteFilter) (bool, error) {
	if err := f.normalise(); err != nil {
		return false, err
	}
	gen, err := archiveGeneration(db.g.WithContext(ctx))
	if err != nil {
		return false, err
	}
	_, ok := db.pages.get(pageKey(f), gen)
	return ok, nil
}

// SetPageLag sets how far behind a running sync pass db may serve a kept
// notes page (0: never).
func SetPageLag(db *DB, d time.Duration) { db.pageLag = d }

// SettlePage waits for a background read of f's page, if one runs.
func SettlePage(db *DB, f NoteFilter) error {
	if err := f.normalise(); err != nil {
		return err
	}
	db.pages.settle(pageKey(f))
	return nil
}
