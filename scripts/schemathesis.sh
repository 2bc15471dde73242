#!/usr/bin/env bash
# Fuzzes the API against docs/openapi.json with schemathesis: starts a server on a free port
# with a throw-away data dir, signs in as the bootstrap admin, runs the checks, stops the
# server. Exits non-zero when schemathesis reports a failure. Run by hand (not part of CI):
#   bash scripts/schemathesis.sh            # MAX_EXAMPLES=25 by default
#   MAX_EXAMPLES=100 bash scripts/schemathesis.sh --include-path-regex '^/api/v1/bots'
# Extra arguments go to `schemathesis run`. Needs `python3 -m pip install schemathesis`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
max_examples="${MAX_EXAMPLES:-25}"

command -v schemathesis >/dev/null || {
    echo "schemathesis is not installed: python3 -m pip install schemathesis" >&2
    exit 2
}

cargo build --quiet -p botmox-server --bin botmox
target_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/botmox"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

(
    cd "$work"
    exec env BOTMOX_LISTEN="127.0.0.1:$port" BOTMOX_DATA_DIR="$work/data" LOG_LEVEL=error \
        API_RATE_LIMIT_MAX=0 API_RATE_LIMIT_IP_MAX=0 \
        LOGIN_RATE_LIMIT_PER_MINUTE=100000 PAIRING_RATE_LIMIT_PER_MINUTE=100000 \
        "$bin" serve >"$work/server.out" 2>"$work/server.err"
) &
server_pid=$!

for _ in $(seq 1 300); do
    curl -fsS "$base/api/v1/health/live" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
done
email="$(awk '/email:/ {print $2; exit}' "$work/server.out")"
password="$(awk '/password:/ {print $2; exit}' "$work/server.out")"
token="$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')"

status=0
# Streams and the long poll never finish a response; logout and token revocation would end
# the session the rest of the run needs. One worker: hypothesis is not thread-safe everywhere.
schemathesis run docs/openapi.json --url "$base" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --max-examples "$max_examples" --workers 1 --seed 1 \
    --request-timeout 10 --no-color --generation-database none \
    --exclude-path /api/v1/vm-ops/events \
    --exclude-path /api/v1/agents/ws \
    --exclude-path /api/v1/vm-ops/commands/next \
    --exclude-path /api/v1/auth/logout \
    --report-dir "$work/report" \
    "$@" || status=$?

if grep -q '"level":"ERROR"\|ERROR' "$work/server.err" 2>/dev/null; then
    echo "--- server errors ---" >&2
    grep 'ERROR' "$work/server.err" | tail -n 20 >&2
fi
exit "$status"
