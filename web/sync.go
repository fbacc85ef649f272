package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// SyncAll runs one full pass of every enabled account and waits for them,
// accounts side by side. It returns the failures joined, each naming its
// account; an account whose client cannot be built counts as failed.
func (s *Server) SyncAll(ctx context.Context) error {
	accts, err := s.db.ListAccounts(ctx)
	if err != nil {
		return err
	}
	e := syncer.New(s.db, syncer.Options{Logger: s.log})
	var errs []error
	var ids []uint
	for i := range accts {
		a := &accts[i]
		if a.Disabled {
			continue
		}
		p, err := s.clients.For(a)
		if err == nil {
			err = e.Add(a.ID, p)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("account %d (%s): %w", a.ID, a.Name, err))
			continue
		}
		ids = append(ids, a.ID)
	}
	done := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, err := e.Pass(ctx, id, true)
			if err != nil {
				err = fmt.Errorf("account %d: %w", id, err)
			}
			done <- err
		}()
	}
	for range ids {
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
