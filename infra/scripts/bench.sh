#!/usr/bin/env bash
# `npm run bench:gateway` / `npm run bench:softphone`: set up, build, then run the
# benchmark inside a loopback-only network namespace. Results are written to
# test/bench/results/ as JSON and Markdown.
source "$(dirname "$0")/lib.sh"

what="${1:-}"
case "$what" in
  gateway | softphone | contactcenter | endurance | transcoding) ;;
  # the cluster's hosts are network namespaces (ip netns), as in `npm run test:cluster`
  cluster) [ "$(id -u)" -eq 0 ] || die "the cluster benchmark creates network namespaces (ip netns): run it as root" ;;
  *) die "usage: bash infra/scripts/bench.sh gateway|softphone|contactcenter|endurance|transcoding|cluster" ;;
esac
check_node
ensure_debian_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_npm_packages
build_all
say "Benchmarking the $what (loopback-only network namespace)"
in_loopback_namespace npx --no-install tsx "test/bench/$what.ts"
