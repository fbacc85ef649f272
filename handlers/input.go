package handlers

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Input limits shared by the screens.
const (
	// maxPage bounds page numbers, so an offset can never overflow.
	maxPage = 1_000_000
	// maxFilterRunes bounds free-text filters (note text, audit actor).
	maxFilterRunes = 200
	// maxSettingRunes bounds an account's endpoint and settings.
	maxSettingRunes = 500
	// maxSecretBytes bounds one account secret.
	maxSecretBytes = 4096
	// maxFormToken bounds the one-time token of the add form.
	maxFormToken = 64
)

// parsePage reads a page number. An empty value is the first page; ok is
// false for anything but a whole decimal number from 1 to maxPage (no sign,
// no spaces, no exponent).
func parsePage(s string) (page int, ok bool) {
	if s == "" {
		return 1, true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > maxPage {
		return 0, false
	}
	return int(n), true
}

// parseID reads a row id: decimal digits from 1 to 2^32-1. ok is false for
// anything else (ids are uint and stored rows never use 0).
func parseID(s string) (id uint, ok bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint(n), true
}

// cleanText reports whether s is text a person could have typed: valid
// UTF-8 without NUL or other control characters. Multi-line text may hold
// tabs and line breaks. Stored or sent on, such bytes only hide content
// (a NUL ends the string in many tools) or break the vendor's parser.
func cleanText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// textError returns the message id for a single-line text field that is
// not clean or longer than max runes, or "".
func textError(s string, max int) string {
	switch {
	case !cleanText(s, false):
		return "err.text_invalid"
	case utf8.RuneCountInString(s) > max:
		return "err.too_long"
	}
	return ""
}
