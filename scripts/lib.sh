# Shared by the scripts: package installation and the build. Source it, don't run it.

# ccache keys on paths relative to the checkout and not on the build folder, so a clone in
# another folder (as CI makes) reuses what earlier builds compiled (debug info then names the
# folder of the build that filled the cache).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

# Debian packages the build and the tests need.
TROUPE_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config clang-format
  libcaf-dev libboost-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev libpqxx-dev postgresql
  libsodium-dev clang libclang-rt-14-dev nodejs openssl
  prometheus # promtool checks a scrape of /metrics (tests/node)
  chromium   # renders the chaos campaign's report in a browser test (tests/chaos/browser)
  iproute2 iptables # the chaos campaign's namespaces, partitions, loss and bandwidth (tests/chaos)
)

# Installs whatever of "$@" is missing; silent when everything is there.
troupe_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures (once) and builds BUILD_DIR with extra cmake arguments; quiet unless it fails.
troupe_build() {
  local dir="$1"; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DTROUPE_WERROR=ON "$@" >"$dir.configure.log" 2>&1 \
      || { cat "$dir.configure.log"; return 1; }
  fi
  cmake --build "$dir" -- -j"$(nproc)"
}

# Installs the npm packages of DIR when they are missing or older than its lock file, which
# lists exactly what the scripts there run with.
troupe_npm_deps() {
  local dir="$1"
  command -v node >/dev/null || troupe_install nodejs
  command -v npm >/dev/null || troupe_install npm
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The npm packages of the offline Kubernetes checks (scripts/k8s-check).
troupe_k8s_check_deps() { troupe_npm_deps scripts/k8s-check; }

# The npm packages of the chaos report's browser test (playwright-core drives the Debian
# chromium; it downloads no browser of its own).
troupe_chaos_browser_deps() { troupe_npm_deps tests/chaos/browser; }
