#!/bin/sh
# Runs Mercure's conformance suite (github.com/dunglas/mercure, conformance-tests/) against a
# Herald hub started with the suite's key, audience and issuer. See docs/conformance.md.
#
# Usage: scripts/conformance.sh [SOURCE] [REVISION ...]
#   SOURCE    a Mercure git directory (bare or not) or a checkout holding conformance-tests/;
#             default $MERCURE_SRC, else a clone into .tmp/mercure (needs github.com).
#   REVISION  git revisions to test when SOURCE is a git directory; default: v0.24.2 HEAD.
# Environment: CHROMIUM (default /usr/bin/chromium), PORT (default 3799).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK="$ROOT/.tmp/conformance"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PORT=${PORT:-3799}
SOURCE=${1:-${MERCURE_SRC:-}}
[ $# -gt 0 ] && shift
REVISIONS=${*:-v0.24.2 HEAD}
mkdir -p "$WORK"

if [ -z "$SOURCE" ]; then
  SOURCE="$ROOT/.tmp/mercure"
  [ -d "$SOURCE" ] || git clone --quiet https://github.com/dunglas/mercure "$SOURCE"
fi

# One folder per revision, holding the suite's spec file.
SUITES=""
if [ -f "$SOURCE/conformance-tests/mercure.spec.ts" ] && [ ! -d "$SOURCE/.git" ]; then
  mkdir -p "$WORK/checkout"
  cp "$SOURCE/conformance-tests/mercure.spec.ts" "$WORK/checkout/"
  SUITES="checkout"
else
  GIT_DIR_ARG=$SOURCE
  [ -d "$SOURCE/.git" ] && GIT_DIR_ARG="$SOURCE/.git"
  for rev in $REVISIONS; do
    name=$(echo "$rev" | tr '/' '_')
    mkdir -p "$WORK/$name"
    git --git-dir="$GIT_DIR_ARG" show "$rev:conformance-tests/mercure.spec.ts" > "$WORK/$name/mercure.spec.ts"
    SUITES="$SUITES $name"
  done
fi

# The runner lives outside the project's dependencies.
if [ ! -d "$WORK/node_modules/@playwright/test" ]; then
  [ -f "$WORK/package.json" ] || echo '{"private":true}' > "$WORK/package.json"
  (cd "$WORK" && npm install --no-audit --no-fund --silent @playwright/test)
fi
cat > "$WORK/playwright.config.mjs" <<CONFIG
export default {
  testDir: process.env.SUITE_DIR,
  timeout: 10000,
  expect: { timeout: 5000 },
  reporter: 'list',
  workers: 2,
  use: {
    baseURL: 'http://127.0.0.1:$PORT/.well-known/mercure',
    launchOptions: { executablePath: '$CHROMIUM' },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
};
CONFIG

# The suite signs with Mercure's default key, audience and issuer, and subscribes anonymously.
node --import tsx src/cli/main.ts serve --host 127.0.0.1 --port "$PORT" --anonymous --subscriptions \
  --jwt-key '!ChangeThisMercureHubJWTSecretKey!' \
  --jwt-audience 'https://localhost/.well-known/mercure' --jwt-issuer 'https://localhost' \
  --log-level warn > "$WORK/hub.log" 2>&1 &
HUB=$!
trap 'kill $HUB 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  sleep 0.1
done

STATUS=0
for suite in $SUITES; do
  echo "== Mercure conformance suite: $suite"
  # CUSTOM_ID=1 (the suite's .env): the hub must answer with the publisher's own id.
  (cd "$WORK" && SUITE_DIR="$WORK/$suite" CUSTOM_ID=1 npx playwright test --config playwright.config.mjs) || STATUS=1
done
exit $STATUS
