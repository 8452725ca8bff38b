package main

import "testing"

func TestEventNames(t *testing.T) {
	for _, tc := range []struct {
		pid    int
		a      agentAction
		global bool
		want   string
	}{
		{4242, actionReload, true, `Global\rotor-4242-reload`},
		{4242, actionRotate, true, `Global\rotor-4242-rotate`},
		{7, actionRotate, false, `Local\rotor-7-rotate`},
	} {
		if got := eventName(tc.pid, tc.a, tc.global); got != tc.want {
			t.Errorf("eventName(%d, %s, %v) = %s, want %s", tc.pid, tc.a, tc.global, got, tc.want)
		}
	}
	// Only SYSTEM, Administrators and the agent's account, never
	// Everyone, Users or Authenticated Users.
	const self = "S-1-5-21-1-2-3-1001"
	if got := eventSDDL(self); got != "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;"+self+")" {
		t.Errorf("eventSDDL = %s", got)
	}
}
