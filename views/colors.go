package views

import "strconv"

// accountColors is how many colours accounts cycle through; app.css
// defines .acct-0 … .acct-7 (light and dark).
const accountColors = 8

// AccountColor is the CSS class that gives an account its colour: it sets
// --acct, which chips, note rows and the range chart use wherever that
// account's notes appear. The colour follows the account's id, so it is
// the same on every page and for every viewer.
func AccountColor(id uint) string {
	return "acct-" + strconv.FormatUint(uint64(id%accountColors), 10)
}

// accountColorOf is AccountColor of an account id as a form carries it;
// an id that is not a number gets no colour class.
func accountColorOf(id string) string {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return ""
	}
	return AccountColor(uint(n))
}
