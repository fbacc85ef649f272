// Package e2e drives the real dashboard in a real browser: Debian's
// Chromium, headless, through the Chrome DevTools Protocol (chromedp). The
// tests start the whole app in demo mode on loopback, sign in through the
// form, work with notes the way an admin does, check the audit log, run
// axe-core on the main pages and, when TICKETNOTES_SCREENSHOTS names a
// folder, save full-page screenshots there.
//
// The package has only tests; axe-core comes from testdata/axe, refreshed by
// static/vendor.sh.
package e2e
