package models

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"
)

// TestBurstsReuseTheirConnections: 16 requests at once, twice, hold 16
// connections, and the second burst reuses the first one's: none is
// closed for want of room among the idle ones, so none is opened again.
func TestBurstsReuseTheirConnections(t *testing.T) {
	db := openKeyed(t)
	sqlDB, err := db.g.DB()
	if err != nil {
		t.Fatal(err)
	}
	burst := func() {
		t.Helper()
		var held, done sync.WaitGroup
		held.Add(idleConns)
		release := make(chan struct{})
		errs := make(chan error, idleConns)
		for range idleConns {
			done.Add(1)
			go func() {
				defer done.Done()
				errs <- db.g.WithContext(context.Background()).Connection(func(tx *gorm.DB) error {
					err := tx.Exec("SELECT 1").Error
					held.Done()
					<-release // every connection is held at once
					return err
				})
			}()
		}
		held.Wait()
		close(release)
		done.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	burst()
	opened := sqlDB.Stats().OpenConnections
	burst()
	st := sqlDB.Stats()
	if st.MaxIdleClosed != 0 {
		t.Errorf("%d connections closed as surplus idle ones after bursts of %d, want none", st.MaxIdleClosed, idleConns)
	}
	if opened < idleConns || st.OpenConnections != opened {
		t.Errorf("%d connections open after the first burst and %d after the second, want %d both times", opened, st.OpenConnections, idleConns)
	}
}
