#!/usr/bin/env bash
# `npm run test:cluster`: the cluster test (test/cluster) in its long form:
# edges, media nodes and a db host as network namespaces joined by a bridge in a
# namespace of its own (192.0.2.0/24, nothing leaves the machine). `npm test`
# runs the same files in their short form. Needs root (ip netns).
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "the cluster test creates network namespaces (ip netns): run it as root"
check_node
ensure_debian_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_npm_packages
build_all
mkdir -p test/artifacts/cluster
say "Running the cluster test (hosts in network namespaces, long form)"
CLUSTER_FULL=1 in_loopback_namespace node node_modules/vitest/vitest.mjs run --project cluster "$@"
