#!/usr/bin/env bash
# `npm start`: set up what is missing, build, and run the whole product on its
# embedded defaults (loopback only, demo accounts). Ctrl-C stops everything.
source "$(dirname "$0")/lib.sh"

check_node
ensure_debian_packages "${RUNTIME_PACKAGES[@]}"
ensure_npm_packages
build_all
say "Starting the gateway (Kamailio, rtpengine, coturn, echo/tone services, HTTPS on https://127.0.0.1:8443/)"
exec node gateway/dist/main.js "$@"
