package injector

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An AdmissionReview body is untrusted input: one larger than
// maxReviewBytes is refused with 413 before it is decoded, and one just
// under it is read (and refused only as not being a review).
func TestWebhookBoundsTheBody(t *testing.T) {
	h := NewHandler(HandlerOptions{})
	for _, c := range []struct {
		size int
		want int
	}{{maxReviewBytes + 1, http.StatusRequestEntityTooLarge}, {maxReviewBytes, http.StatusBadRequest}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(bytes.Repeat([]byte{' '}, c.size))))
		if w.Code != c.want {
			t.Errorf("a %d-byte body: status %d, want %d", c.size, w.Code, c.want)
		}
	}
}
