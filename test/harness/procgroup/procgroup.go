// Package procgroup starts the test harnesses' servers (Vault, PostgreSQL,
// nginx) in a process group of their own and stops the whole group, on
// every platform rotor builds for. Linux, where the integration tests run,
// also kills the group when the test binary dies (Pdeathsig); elsewhere
// it only needs to compile and do its best.
package procgroup
