package template

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/rotorproject/rotor/internal/phases"
	"github.com/rotorproject/rotor/lease"
)

// groupWorkers bounds the groups rendered and published at once. Each
// group is a pipeline (render, fetch what is missing, render again, write,
// reload), so one group's file writes overlap other groups' Vault
// requests; the store bounds the requests themselves. Writes are fsynced,
// and parallel fsyncs share journal commits (500 files: ~70ms in parallel,
// ~300ms one after another).
const groupWorkers = 64

// writers bounds concurrent file writes: creating and renaming files in
// one directory contends on the directory's lock, and past a few writers
// the kernel spins instead of writing.
var writers = 8

// renderGroups renders the due templates group by group, in parallel, and
// publishes each group as soon as its members are rendered. Each group
// touches only its own templates; a secret wanted by several groups is
// fetched once (the store shares concurrent fetches), so every template
// gets the same value.
func (r *Runner) renderGroups(ctx context.Context, due []*tmpl) {
	isDue := make(map[*tmpl]bool, len(due))
	for _, t := range due {
		isDue[t] = true
	}
	type job struct {
		g       *group
		members []*tmpl
	}
	var jobs []job
	for _, g := range r.groups {
		var members []*tmpl
		for _, t := range g.members {
			if isDue[t] {
				members = append(members, t)
			}
		}
		if len(members) > 0 {
			jobs = append(jobs, job{g, members})
		}
	}
	// A fixed set of workers takes the groups in order: a goroutine per
	// group would grow a new stack for each execution and Vault request
	// (thousands of groups: a few percent of the CPU).
	next := make(chan job)
	var wg sync.WaitGroup
	for range min(groupWorkers, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				outs := map[*tmpl][]byte{}
				for _, t := range j.members {
					if out, ok := r.renderOne(ctx, t); ok {
						outs[t] = out
					}
				}
				if ctx.Err() == nil && len(outs) > 0 {
					j.g.publish(ctx, r, outs)
				}
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// renderOne executes t, fetches the secrets it misses, and executes it
// again until nothing is missing (templates whose secret paths come from
// other secrets need several rounds). It reports false after recording a
// failure.
func (r *Runner) renderOne(ctx context.Context, t *tmpl) ([]byte, bool) {
	if r.store != nil {
		// Leases held before this mark were replaced before the
		// render reads its secrets (confirmrun.go).
		t.nextMark = r.store.HoldMark()
	}
	// Fetch what the template certainly uses (or used last time) first:
	// one execution then usually suffices.
	want := slices.Clip(t.static) // appending must not write into t.static's spare room
	for _, ref := range t.used {
		want = append(want, ref)
	}
	if len(want) > 0 {
		r.store.Fetch(ctx, want) // errors show at execution, per template
	}
	for round := 0; ctx.Err() == nil; round++ {
		began := r.o.Phases.Begin()
		res := t.execute(r.store)
		r.o.Phases.End(phases.Execute, began)
		if res.filesChanged {
			r.watchDirty.Store(true)
		}
		if len(res.missing) == 0 {
			if res.err == nil && int64(len(res.out)) > t.cfg.MaxBytes {
				res.err = fmt.Errorf("rendered output is %w (%d bytes)", errFileTooBig, t.cfg.MaxBytes)
			}
			if res.err != nil {
				r.fail(t, KindExecute, res.err)
				return nil, false
			}
			t.staged = res.writes
			r.preferPolicy(t)
			return res.out, true
		}
		if round == maxRounds {
			r.fail(t, KindExecute, fmt.Errorf("secrets still missing after %d rounds (a secret path built from another secret that keeps changing?)", maxRounds))
			return nil, false
		}
		refs := make([]lease.Ref, 0, len(res.missing))
		for _, ref := range res.missing {
			refs = append(refs, ref)
		}
		if err := firstError(res.missing, r.store.Fetch(ctx, refs)); err != nil {
			// The secret's own error, with its vaulterr class: what an
			// operator acts on is Vault's answer, not the template.
			r.fail(t, KindExecute, err)
			return nil, false
		}
	}
	return nil, false
}

func firstError(missing map[string]lease.Ref, errs map[string]error) error {
	keys := make([]string, 0, len(missing))
	for k := range missing {
		if errs[k] != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return errs[keys[0]]
}

// preferPolicy tells the store the renewal policy of the secrets t's last
// execution used: t's own settings over the global ones. Only when some
// template has settings of its own (perTemplate); otherwise every secret
// follows the store's policy and there is nothing to say.
func (r *Runner) preferPolicy(t *tmpl) {
	if !r.perTemplate || r.store == nil || len(t.used) == 0 {
		return
	}
	keys := make([]string, 0, len(t.used))
	for k := range t.used {
		keys = append(keys, k)
	}
	r.store.Prefer(keys, t.cfg.Renewal.Or(r.o.Policy))
}
