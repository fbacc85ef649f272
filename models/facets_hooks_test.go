package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// RangeAndFacets runs what NotesPage adds to a page for the histogram and
// the facets, alone, and returns the SQL statements it ran. It traces
// every statement of db from then on: db must be the caller's own.
func RangeAndFacets(ctx context.Context, db *DB, f NoteFilter) (RangeCounts, Facets, []string, error) {
	if err := f.normalise(); err != nil {
		return RangeCounts{}, Facets{}, nil, err
	}
	var mu sync.Mutex
	var stmts []string
	trace := func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		stmts = append(stmts, tx.Statement.SQL.String())
	}
	g := db.g
	if err := g.Callback().Row().After("gorm:row").Register("trace", trace); err != nil {
		return RangeCounts{}, Facets{}, nil, err
	}
	if err := g.Callback().Query().After("gorm:query").Register("trace", trace); err != nil {
		return RangeCounts{}, Facets{}, nil, err
	}
	var p NotesPage
	err := db.readRangeAndFacets(g.WithContext(ctx), f, &p)
	return p.Range, p.Facets, stmts, err
}
