#!/usr/bin/env bash
# Checks the package as users get it: `npm pack`, then in an empty folder
# `npm install --omit=dev <tarball>` (production dependencies only, from the npm registry), and:
#   - `herald --version`, `herald apps create/list` (embedded store, no server) and `herald start`;
#   - a strict TypeScript consumer of `herald/sdk` (test/package/consumer.ts) compiles against the
#     package's types and talks to the packaged server (Channels trigger/list, Beams publish);
#   - SIGTERM stops the server with exit code 0.
# Usage: scripts/check-package.sh [node binary …]   (default: the `node` on PATH; packs and installs
#        once, then checks the installed package on each Node given)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODES=("$@")
[ ${#NODES[@]} -gt 0 ] || NODES=(node)
WORK="$(mktemp -d /tmp/herald-package-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "check-package: FAIL: $*" >&2; [ -f "$WORK/server.log" ] && sed 's/^/  server: /' "$WORK/server.log" >&2; exit 1; }

cd "$ROOT"
TARBALL="$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)"
[ -f "$TARBALL" ] || fail "npm pack produced no tarball"
echo "check-package: packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KB, $(tar -tzf "$TARBALL" | wc -l) files)"
if tar -tzf "$TARBALL" | grep -qE '^package/(src|test|bench)/'; then fail "the tarball contains sources or tests"; fi

mkdir "$WORK/app"
cd "$WORK/app"
echo '{ "name": "herald-package-check", "private": true, "type": "module" }' > package.json
npm install --omit=dev --no-audit --no-fund --loglevel=error "$TARBALL" >/dev/null
[ ! -e node_modules/tsx ] || fail "tsx was installed with production dependencies"
[ ! -e node_modules/typescript ] || fail "typescript was installed with production dependencies"
echo "check-package: installed with production dependencies only ($(ls node_modules | wc -l) packages)"

cp "$ROOT/test/package/consumer.ts" .
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": true, "noEmitOnError": true, "types": [], "lib": ["ES2023", "DOM"] }, "files": ["consumer.ts"] }
JSON
node "$ROOT/node_modules/typescript/bin/tsc" -p . || fail "the TypeScript consumer of herald/sdk does not compile"
echo "check-package: a strict TypeScript consumer of herald/sdk compiles against the package's types"

# Runs the installed package on one Node binary.
check_on() {
  NODE="$1"
  HERALD=(env -u NODE_OPTIONS "$NODE" node_modules/herald/bin/herald.js)

  VERSION="$("${HERALD[@]}" --version)"
  [ "$VERSION" = "$("$NODE" -p "require('$ROOT/package.json').version")" ] || fail "herald --version printed '$VERSION'"

  DATA="$(mktemp -d "$WORK/data-XXXXXX")"
  "${HERALD[@]}" apps create --data-dir "$DATA" --id pkg-app --key pkg-key --secret pkg-secret-123 --client-events false >/dev/null || fail "herald apps create"
  "${HERALD[@]}" apps list --data-dir "$DATA" | grep -q '^pkg-app ' || fail "herald apps list does not show pkg-app"

  PORT="$("$NODE" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  URL="http://127.0.0.1:$PORT"
  TOKEN="package-check-admin-token"
  HERALD_ADMIN_TOKEN="$TOKEN" HERALD_BEAMS_INSTANCE_ID=pkg-beams HERALD_BEAMS_SECRET_KEY=pkg-beams-secret \
    "${HERALD[@]}" start --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" --log-format json >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  # /ready, not /health: the port opens before the store and modules are up (/ready 503 until then).
  for _ in $(seq 1 300); do
    curl -fs "$URL/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "herald start exited"
    sleep 0.1
  done
  curl -fs "$URL/ready" >/dev/null || fail "not ready after 30 s"
  grep -q 'pkg-app (key pkg-key)' "$WORK/server.log" || fail "the server did not load pkg-app from the store"
  "${HERALD[@]}" apps show pkg-app --url "$URL" --admin-token "$TOKEN" --json | grep -q '"clientEvents": false' || fail "herald apps show through the admin API"

  OUT="$("$NODE" consumer.js "$URL" pkg-app pkg-key pkg-secret-123 pkg-beams pkg-beams-secret)" || fail "the SDK consumer failed"
  echo "$OUT" | grep -q '"refused":true' || fail "SDK consumer: $OUT"
  echo "$OUT" | grep -q '"publishId":"pubid-' || fail "SDK consumer: $OUT"

  kill -TERM "$SERVER_PID"
  CODE=0
  wait "$SERVER_PID" || CODE=$?
  SERVER_PID=""
  [ "$CODE" = 0 ] || fail "herald start exited with $CODE after SIGTERM"
  rm -f "$WORK/server.log"
  echo "check-package: OK on Node $("$NODE" --version) (herald --version, apps create/list/show, start, SDK calls, SIGTERM)"
}

for node_bin in "${NODES[@]}"; do check_on "$node_bin"; done
