package lease

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// slots bounds the Vault requests the store has in flight. When all are
// taken, waiting requests get the next free slot earliest key first (the
// key is the time the request is needed by: a secret's deadline, or now
// for a template waiting on a first fetch), then in arrival order.
type slots struct {
	mu      sync.Mutex
	free    int
	seq     uint64
	waiting waitQueue
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire blocks until a slot is the caller's (nil) or ctx is done
// (ctx.Err(); no slot is held then).
func (s *slots) acquire(ctx context.Context, key time.Time) error {
	s.mu.Lock()
	if s.free > 0 {
		// release hands slots to waiters first, so a free slot means
		// nobody is waiting.
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{key: key, seq: s.seq, ch: make(chan struct{}, 1)}
	heap.Push(&s.waiting, w)
	s.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if w.idx >= 0 {
			heap.Remove(&s.waiting, w.idx)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		// The slot was handed over as ctx ended: pass it on.
		s.release()
		return ctx.Err()
	}
}

// release gives a held slot to the most urgent waiter, or frees it.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) > 0 {
		w := heap.Pop(&s.waiting).(*waiter)
		w.ch <- struct{}{}
		return
	}
	s.free++
}

type waiter struct {
	key time.Time
	seq uint64
	ch  chan struct{}
	idx int // in the heap; -1 once popped
}

type waitQueue []*waiter

func (q waitQueue) Len() int { return len(q) }
func (q waitQueue) Less(i, j int) bool {
	if !q[i].key.Equal(q[j].key) {
		return q[i].key.Before(q[j].key)
	}
	return q[i].seq < q[j].seq
}
func (q waitQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}
func (q *waitQueue) Push(x any) {
	w := x.(*waiter)
	w.idx = len(*q)
	*q = append(*q, w)
}
func (q *waitQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	w.idx = -1
	return w
}
