#!/usr/bin/env bash
# Builds the Kubernetes control plane the tests run (test/harness/kubereal):
# kube-apiserver from k8s.io/kubernetes and etcd from go.etcd.io/etcd/server/v3,
# at the versions of this module's go.mod, into test/kube/bin/.
#
# kube-apiserver gets its version stamped as Kubernetes' release builds stamp it
# (hack/lib/version.sh sets the same variables): without it GET /version would
# answer an empty major and minor, and `rotor injector serve -sidecar=auto`
# could not choose by it.
set -euo pipefail
cd "$(dirname "$0")"
v=$(go list -m -f '{{.Version}}' k8s.io/kubernetes) # v1.37.2
minor=${v#v1.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
go build -ldflags "-X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitVersion=$v -X $pkg.gitTreeState=clean" \
	-o bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
go build -o bin/etcd go.etcd.io/etcd/server/v3
