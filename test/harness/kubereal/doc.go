// Package kubereal runs a real Kubernetes control plane for tests: an etcd
// and a kube-apiserver (built from k8s.io/kubernetes by the nested module
// test/kube, `make kube`), on random loopback ports, with their data,
// certificates and keys in the test's temporary directory. There is no
// kubelet, scheduler or controller manager: objects are stored and admitted
// (admission plugins and webhooks run), nothing is run.
//
// The API server serves HTTPS with a certificate of the harness's own CA,
// authenticates an admin by a static token (group system:masters) and
// authorizes with RBAC, so service accounts get exactly the bootstrap
// roles' permissions. It signs service account tokens (TokenRequest) with
// a key of the harness. Every process is stopped when the test ends.
//
// The binaries are found by proc.Find: $ROTOR_KUBE_APISERVER_BIN and
// $ROTOR_ETCD_BIN, then test/kube/bin/{kube-apiserver,etcd}. Without them a
// test is skipped, or fails under ROTOR_REQUIRE_INTEGRATION=1.
package kubereal
