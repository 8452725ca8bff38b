// Package injector is rotor's own Kubernetes injector: a mutating admission
// webhook (and an offline renderer) that reads the vault.hashicorp.com/*
// annotations users already write for the vault-k8s injector and adds a
// rotor sidecar to the pod.
//
// The flow is one way: Parse turns a pod's annotations into a Spec (with
// vault-k8s's defaults and every unknown annotation reported), AgentConfig
// turns the Spec into the agent configuration rotor runs (Vault Agent's JSON
// grammar, the same blocks vault-k8s writes), and Mutate turns the pod and
// Spec into a JSON patch. Render applies that patch to a pod read from a
// file; Handler answers AdmissionReview v1 requests with it.
//
// Pods are read through the few fields the injector touches (pod.go) and
// changed only by JSON patch operations on the raw object, so fields this
// package does not know are never dropped or reordered.
package injector
