package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/rotorproject/rotor/internal/phases"
)

// mainStart is when this package was initialized, after the runtime and
// every imported package: the zero of the phase report. The time before
// it (exec, runtime start, package initialization) is measured by the
// benchmark, from start_unix_ns.
var mainStart = time.Now()

// devTrace is the benchmark's view into the agent, off unless asked for
// through the environment, so that the normal path is left alone:
//
//	ROTOR_PHASES=1          print per-phase timings to stderr once ready
//	ROTOR_CPUPROFILE=FILE   CPU profile from start until ready
//	ROTOR_MEMPROFILE=FILE   heap profile (allocations since start) once ready
type devTrace struct {
	rec     *phases.Recorder // nil without ROTOR_PHASES
	cpu     *os.File
	memPath string
	w       io.Writer
	done    bool
}

// startDevTrace starts what the environment asks for. Problems are
// printed and otherwise ignored: tracing never stops the agent.
func startDevTrace(stderr io.Writer) *devTrace {
	d := &devTrace{w: stderr, memPath: os.Getenv("ROTOR_MEMPROFILE")}
	if os.Getenv("ROTOR_PHASES") != "" {
		d.rec = phases.New(mainStart)
	}
	if p := os.Getenv("ROTOR_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "rotor: ROTOR_CPUPROFILE: %v\n", err)
		} else {
			d.cpu = f
		}
	}
	return d
}

// ready ends the measurement once every template has rendered (and every
// sink holds the token): the report is printed and the profiles written.
// Only the first call counts.
func (d *devTrace) ready() {
	if d == nil || d.done {
		return
	}
	d.done = true
	d.rec.Done()
	if d.cpu != nil {
		pprof.StopCPUProfile()
		d.cpu.Close()
	}
	if d.memPath != "" {
		runtime.GC() // the heap profile shows the state as of the last GC
		if f, err := os.Create(d.memPath); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	d.rec.Report(d.w)
}
