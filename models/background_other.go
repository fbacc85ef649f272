//go:build !linux

package models

// inBackground runs f. Only Linux sets a thread's CPU priority (see
// background_linux.go).
func inBackground(f func() error) error { return f() }
