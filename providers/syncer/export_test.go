package syncer

// NewFakeStore gives the external tests the in-memory Store.
func NewFakeStore() Store { return newFakeStore() }
