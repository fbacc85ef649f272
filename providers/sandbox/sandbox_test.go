package sandbox

import (
	"testing"
	"time"
)

// Scale(n) seeds about n notes in all over realistic tickets and two years
// of dates; small n keeps the defaults.
func TestScaleSeedsAboutN(t *testing.T) {
	t.Parallel()
	if o := Scale(0); o.NotesPerVendor != 0 || o.TicketsPerVendor != 0 || o.Days != 0 {
		t.Fatalf("Scale(0) = %+v, want the defaults", o)
	}
	const n = 30000
	now := time.Now()
	o := Scale(n)
	o.Seed, o.Now = 3, func() time.Time { return now }
	sb, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	total := sb.Alibaba.NoteCount() + sb.Sendbird.NoteCount() + sb.Feishu.NoteCount()
	if total < n*95/100 || total > n*105/100 {
		t.Fatalf("seeded %d notes, want about %d", total, n)
	}
	if got := len(sb.Feishu.TicketIDs()); got < n/3/15 || got > n/3/10 {
		t.Errorf("feishu: %d tickets for %d notes, want a dozen notes a ticket", got, n/3)
	}
	oldest := now
	for _, m := range sb.Sendbird.Notes() {
		if m.CreatedAt.Before(oldest) {
			oldest = m.CreatedAt
		}
	}
	if age := now.Sub(oldest); age < 365*24*time.Hour || age > 731*24*time.Hour {
		t.Errorf("oldest Sendbird note is %v old, want between one and two years", age.Round(time.Hour))
	}
}
