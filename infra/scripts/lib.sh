# Shared set-up for start.sh, test.sh and bench.sh: every step says what it does
# and is skipped when already done, so a fresh Debian 12 + Node 20 clone and a
# warm checkout take the same command.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# What the product runs on (gateway stack + built-in echo/tone services).
RUNTIME_PACKAGES=(kamailio kamailio-websocket-modules kamailio-utils-modules kamailio-json-modules
  kamailio-presence-modules kamailio-sqlite-modules
  kamailio-extra-modules rtpengine coturn sip-tester sox openssl iproute2
  asterisk-core-sounds-en-wav asterisk-moh-opsound-wav)
# What calltest (npx calltest) runs: sipp and sox above, plus packet captures
# (tshark) and a real SIP endpoint for its baresip legs.
RUNTIME_PACKAGES+=(tshark baresip-core)
# What the tests add: real SIP endpoints, a real browser, packet captures.
TEST_PACKAGES=(baresip-core chromium tshark util-linux)
# The cluster test (test/cluster): rtpengine's call replication between media nodes
# goes through Redis (PostgreSQL is the cluster's store).
TEST_PACKAGES+=(redis-server postgresql)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

check_node() {
  command -v node >/dev/null || die "Node.js 20.19 or newer is required (https://nodejs.org or Debian's nodejs)."
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    die "Node.js $(node --version) is too old: 20.19 or newer is required (Vite 7)."
}

# Installs the Debian packages that are missing, as root or through sudo.
ensure_debian_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=''
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo='sudo'; else
      die "missing Debian packages: ${missing[*]}. Run as root or install them: sudo apt-get install ${missing[*]}"
    fi
  fi
  say "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs the locked npm packages when node_modules is missing or older than
# the lockfile. Not `npm ci`: npm 11 leaves other platforms' optional packages
# (rollup's, esbuild's) out of the lockfile it writes, and `npm ci` then refuses
# that same lockfile as out of sync. `npm install --no-save` installs exactly
# the locked versions and never rewrites the lockfile.
ensure_npm_packages() {
  local stamp=node_modules/.install-stamp
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    say "Installing npm packages (locked versions)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-fund --no-audit --loglevel=error
    touch "$stamp"
  fi
}

build_all() {
  say "Building the gateway (tsc)"
  npx --no-install tsc -p gateway/tsconfig.json
  say "Building calltest (tsc)"
  npx --no-install tsc -p calltest/tsconfig.json
  say "Building the softphone (vite)"
  (cd softphone && npx --no-install vite build --logLevel warn)
  node infra/scripts/precompress.mjs softphone/dist
}

# Runs a command inside a private network namespace that has only loopback, so
# no test traffic (and no ICE candidate) can reach another address.
in_loopback_namespace() {
  local prefix=()
  if [ "$(id -u)" -ne 0 ]; then prefix=(-r); fi
  unshare "${prefix[@]}" -n -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
}
