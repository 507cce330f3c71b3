package synth

import "testing"

// memberClaims groups a batch's events by member and claim.
func memberClaims(b *Batch) map[[2]string][]Event {
	out := map[[2]string][]Event{}
	for _, e := range b.Events {
		if e.ClaimID != "" {
			k := [2]string{e.MemberID, e.ClaimID}
			out[k] = append(out[k], e)
		}
	}
	return out
}

func hasCode(evs []Event, sys, code string) bool {
	for _, e := range evs {
		if e.System == sys && e.Code == code {
			return true
		}
	}
	return false
}

// TestAdmissions: inpatient stays end after they start; critical care is
// billed with POS 23; some ED visits are admitted on their own claim, some
// on a separate claim the same day, the next day, or two days later.
func TestAdmissions(t *testing.T) {
	var b *Batch
	if _, err := Generate(Config{Members: BlockMembers, Seed: 3, Year: 2025, Workers: 1}, func(x *Batch) error { b = x; return nil }); err != nil {
		t.Fatal(err)
	}
	claims := memberClaims(b)
	edDays := map[[2]string]bool{} // member, ED date
	for _, evs := range claims {
		if hasCode(evs, sysCPT, cptCriticalCare) && !hasCode(evs, sysPOS, posED) {
			t.Errorf("critical care without POS 23: %+v", evs)
		}
		for _, e := range evs {
			if e.System == sysCPT && isEDCode(e.Code) {
				edDays[[2]string{e.MemberID, string(appendDay(nil, e.Date))}] = true
			}
		}
	}
	var sameClaim, separate [3]int
	for _, evs := range claims {
		for _, e := range evs {
			if e.System != sysPOS || (e.Code != posInpatient && e.Code != posInpatientPsy) {
				continue
			}
			if e.End == NoDay || e.End <= e.Date {
				t.Errorf("stay without a later discharge: %+v", e)
			}
			if hasCode(evs, sysPOS, posED) {
				sameClaim[0]++
				continue
			}
			for k := range separate {
				if edDays[[2]string{e.MemberID, string(appendDay(nil, e.Date-day(k)))}] {
					separate[k]++
				}
			}
		}
	}
	if sameClaim[0] == 0 || separate[0] == 0 || separate[1] == 0 || separate[2] == 0 {
		t.Errorf("admissions on the ED claim %d, separate the same day %d, next day %d, two days later %d", sameClaim[0], separate[0], separate[1], separate[2])
	}
}
