package main

import "strconv"

// What "rotor reload" and "rotor rotate" ask a running agent to do. On
// Unix they are SIGHUP and SIGUSR1, sent to the pid in the pid_file. On
// Windows, which has no such signals, they are named events the agent
// creates (events_windows.go).
type agentAction string

const (
	actionReload agentAction = "reload" // read the configuration again
	actionRotate agentAction = "rotate" // fetch every secret again
)

// eventName is the name of the Windows event for action of the agent with
// pid: Global\rotor-<pid>-<action>, one namespace for every session (a
// service runs in session 0, an administrator's shell elsewhere), or
// Local\ when the agent may not create global objects (no
// SeCreateGlobalPrivilege: an agent started from an ordinary shell).
// The pid in the name means an event found belongs to that process: a
// stale pid_file naming some other program finds no event.
func eventName(pid int, a agentAction, global bool) string {
	ns := `Local\`
	if global {
		ns = `Global\`
	}
	return ns + "rotor-" + strconv.Itoa(pid) + "-" + string(a)
}

// eventSDDL is the security descriptor of those events: SYSTEM,
// Administrators and the agent's own account may set them, the same
// people who may signal a process on Unix (root and its uid). Without it
// an event made by a service (LocalSystem) would refuse administrators
// the right to set it.
func eventSDDL(selfSID string) string {
	return "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + selfSID + ")"
}
