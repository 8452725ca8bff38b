package injector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// maxReviewBytes bounds an AdmissionReview body. The API server sends the
// whole object; a pod spec is far smaller.
const maxReviewBytes = 8 << 20

// admissionReview is the admission.k8s.io/v1 AdmissionReview, reduced to
// the fields the injector reads and writes.
type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

type admissionRequest struct {
	UID       string `json:"uid"`
	Kind      struct{ Group, Version, Kind string }
	Namespace string          `json:"namespace"`
	Operation string          `json:"operation"`
	Object    json.RawMessage `json:"object"`
}

type admissionResponse struct {
	UID       string   `json:"uid"`
	Allowed   bool     `json:"allowed"`
	Result    *status  `json:"status,omitempty"`
	Patch     []byte   `json:"patch,omitempty"` // base64 in JSON, as the API expects
	PatchType string   `json:"patchType,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type status struct {
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

// HandlerOptions configure the webhook's handler.
type HandlerOptions struct {
	Options
	// FailOpen admits a pod unchanged (with a warning) when its
	// annotations cannot be applied; by default such a pod is refused,
	// as vault-k8s refuses it, so that it never starts without its
	// secrets. (Whether the API server admits pods when the webhook
	// cannot be reached at all is the MutatingWebhookConfiguration's
	// failurePolicy.)
	FailOpen bool
	Logger   *slog.Logger
}

// Handler answers AdmissionReview v1 requests for pods.
type Handler struct {
	o   HandlerOptions
	log *slog.Logger
}

// NewHandler returns the webhook's HTTP handler (mount it at /mutate).
func NewHandler(o HandlerOptions) *Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{o: o, log: log.With("component", "injector")}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	if err != nil || len(body) > maxReviewBytes {
		http.Error(w, "request body unreadable or larger than 8 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	if review.APIVersion != "admission.k8s.io/v1" {
		http.Error(w, fmt.Sprintf("apiVersion %q: this webhook speaks admission.k8s.io/v1", review.APIVersion), http.StatusBadRequest)
		return
	}
	resp := h.review(review.Request)
	out, err := json.Marshal(admissionReview{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: resp})
	if err != nil {
		http.Error(w, "cannot encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// review decides one request.
func (h *Handler) review(req *admissionRequest) *admissionResponse {
	resp := &admissionResponse{UID: req.UID, Allowed: true}
	log := h.log.With("uid", req.UID, "namespace", req.Namespace)
	if req.Kind.Kind != "Pod" || req.Operation != "CREATE" {
		return resp
	}
	// vault-k8s never injects into the cluster's own namespaces.
	if req.Namespace == "kube-system" || req.Namespace == "kube-public" {
		return resp
	}
	var doc any
	if err := json.Unmarshal(req.Object, &doc); err != nil {
		return h.fail(log, resp, fmt.Errorf("the pod is not JSON: %w", err))
	}
	res, err := Mutate(doc, "", h.o.Options)
	for _, w := range res.warnings() {
		resp.Warnings = append(resp.Warnings, w.String())
	}
	if len(resp.Warnings) > 0 {
		log.Warn("annotations not applied", "warnings", resp.Warnings)
	}
	if err != nil {
		return h.fail(log, resp, err)
	}
	if len(res.Patch) == 0 {
		return resp
	}
	patch, err := json.Marshal(res.Patch)
	if err != nil {
		return h.fail(log, resp, err)
	}
	resp.Patch, resp.PatchType = patch, "JSONPatch"
	log.Info("injected rotor", "sidecar", res.Spec.Sidecar, "secrets", len(res.Spec.Secrets))
	return resp
}

func (r *Result) warnings() []Warning {
	if r == nil {
		return nil
	}
	return r.Warnings
}

// fail refuses the pod, or admits it unchanged under FailOpen.
func (h *Handler) fail(log *slog.Logger, resp *admissionResponse, err error) *admissionResponse {
	msg := "rotor injector: " + err.Error()
	if h.o.FailOpen {
		log.Warn("admitting the pod without rotor", "error", err)
		resp.Warnings = append(resp.Warnings, msg+" (admitted without rotor: the injector fails open)")
		return resp
	}
	log.Warn("refusing the pod", "error", err)
	resp.Allowed = false
	resp.Result = &status{Message: msg, Code: http.StatusBadRequest}
	return resp
}

// errNoCert is returned before a certificate was ever loaded.
var errNoCert = errors.New("no TLS certificate loaded")
