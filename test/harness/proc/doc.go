// Package proc is the one way rotor's tests find binaries, build rotor and
// run processes: the test servers (Vault, PostgreSQL, nginx), rotor itself
// and Vault Agent.
//
//   - Find looks a binary up: an environment variable first, then paths
//     under the module root or absolute, then $PATH; when none exists the
//     test is skipped, or fails under ROTOR_REQUIRE_INTEGRATION=1.
//   - Build and Rotor compile a main package (Rotor once per test binary).
//   - Start runs a command in a process group of its own and reaps it in
//     the background; Stop, Kill and KillGroup end it. On Linux, where the
//     integration tests run, the group is also killed when the test binary
//     dies without running its cleanups (Pdeathsig); elsewhere the package
//     only needs to compile and do its best.
package proc
