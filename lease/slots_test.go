package lease

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// With every slot taken, waiters get a slot earliest key first; a waiter
// that gives up leaves the queue without taking a slot.
func TestSlotsServeTheEarliestKeyFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSlots(1)
		if err := s.acquire(context.Background(), t0); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []int
		ctx, cancel := context.WithCancel(context.Background())
		for i, key := range []time.Duration{5, 1, 3, 2} {
			c := context.Background()
			if i == 2 {
				c = ctx // gives up before its turn
			}
			go func() {
				if s.acquire(c, t0.Add(key*time.Minute)) != nil {
					return
				}
				mu.Lock()
				order = append(order, int(key))
				mu.Unlock()
				s.release()
			}()
			synctest.Wait() // queued in this order
		}
		cancel()
		synctest.Wait()
		s.release()
		synctest.Wait()
		if !slices.Equal(order, []int{1, 2, 5}) {
			t.Fatalf("served %v, want [1 2 5]", order)
		}
		if s.free != 1 || len(s.waiting) != 0 {
			t.Fatalf("free %d, waiting %d", s.free, len(s.waiting))
		}
	})
}
