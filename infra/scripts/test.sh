#!/usr/bin/env bash
# `npm test`: set up what is missing, build, check types/lint/format, then run
# every test: unit, integration (real Kamailio, rtpengine, sipp) and end-to-end
# (real Chromium, baresip) inside a loopback-only network namespace.
source "$(dirname "$0")/lib.sh"

check_node
ensure_debian_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_npm_packages
build_all

say "Type-checking (tsc strict, vue-tsc)"
npm run --silent typecheck
say "Linting (ESLint) and formatting (Prettier)"
npx --no-install eslint .
npx --no-install prettier --check . --log-level warn

mkdir -p test/artifacts
say "Running unit, integration and end-to-end tests in a loopback-only network namespace"
in_loopback_namespace node node_modules/vitest/vitest.mjs run "$@"
