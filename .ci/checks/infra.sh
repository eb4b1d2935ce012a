#!/usr/bin/env bash
# Infra checks that need tools outside cargo (run by .ci/run after `cargo test --workspace`, which already
# ran the tree-sitter / XML checks of tools/infra-check):
#   1. bash -n and shellcheck on every .sh in the repository (target/ and .git/ excluded);
#   2. the .sh test scripts against the local mock gateway (path, api-version, headers, body, stream on/off);
#   3. the azd package hook (bash form): musl release build of `chargeback` and the staged package layout,
#      price sheets included (CHARGEBACK_PRICE_SHEET points at prices/<priceSheetFile>).
# The deploy hooks against fake az/azd run in `cargo test` (tools/infra-check/tests/hooks.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

echo "infra: bash -n + shellcheck"
mapfile -t scripts < <(
  find . -name '*.sh' -not -path '*/target/*' -not -path './.git/*' -not -path './dist/*' | sort
  # The fake az / azd of the hook tests have no extension.
  find ./tools/infra-check/tests/hooks/fake-bin -type f | sort
)
[ "${#scripts[@]}" -gt 0 ] || {
  echo "infra: no shell scripts found" >&2
  exit 1
}
for script in "${scripts[@]}"; do
  bash -n "$script"
done
command -v shellcheck >/dev/null 2>&1 || {
  echo "infra: shellcheck is not installed" >&2
  exit 1
}
shellcheck -x --source-path=SCRIPTDIR "${scripts[@]}"
echo "infra: ${#scripts[@]} scripts pass bash -n and shellcheck"

echo "infra: test scripts against the mock gateway"
bash test-scripts/mock/run-mock-tests.sh

if python3 -c 'import openapi_spec_validator' >/dev/null 2>&1; then
  echo "infra: OpenAPI spec validation"
  python3 -c 'import json, sys
from openapi_spec_validator import validate
validate(json.load(open(sys.argv[1])))
print("infra: " + sys.argv[1] + " is a valid OpenAPI document")' infra/specs/azure-openai-inference.json
fi

echo "infra: azd package hook (musl release build)"
rustup target add x86_64-unknown-linux-musl >/dev/null
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
CHARGEBACK_PACKAGE_DIR="$stage/package" bash infra/hooks/package.sh

pkg="$stage/package"
fail() {
  echo "infra: package layout: $*" >&2
  exit 1
}
[ -f "$pkg/host.json" ] || fail "host.json missing at the package root"
[ -f "$pkg/ChargebackEventHubTrigger/function.json" ] || fail "ChargebackEventHubTrigger/function.json missing"
[ -f "$pkg/chargeback" ] || fail "chargeback missing at the package root"
[ -x "$pkg/chargeback" ] || fail "chargeback has no execute bit"
cmp -s "$pkg/host.json" "$root/host.json" || fail "staged host.json differs from the repository's"
# The price sheet the app setting names (prices/<priceSheetFile>, default of main.bicep) is staged, and
# every sheet of prices/ with it.
sheet="$(sed -n "s/^param priceSheetFile string = '\(.*\)'$/\1/p" "$root/infra/main.bicep")"
[ -n "$sheet" ] || fail "main.bicep has no priceSheetFile default"
[ -f "$pkg/prices/$sheet" ] || fail "prices/$sheet (CHARGEBACK_PRICE_SHEET) is not in the package"
for f in "$root"/prices/*.json; do
  cmp -s "$f" "$pkg/prices/$(basename "$f")" || fail "prices/$(basename "$f") is not staged as is"
done
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$pkg/prices/$sheet" || fail "prices/$sheet is not JSON"
echo "infra: price sheet prices/$sheet staged"
cmp -s "$pkg/ChargebackEventHubTrigger/function.json" "$root/ChargebackEventHubTrigger/function.json" ||
  fail "staged function.json differs from the repository's"
python3 - "$pkg" <<'PY'
import json, os, stat, sys
pkg = sys.argv[1]
host = json.load(open(os.path.join(pkg, "host.json")))
desc = host["customHandler"]["description"]
exe = desc["defaultExecutablePath"]
assert os.path.isfile(os.path.join(pkg, exe)), "host.json runs %r, which is not in the package" % exe
assert desc.get("arguments") == ["serve"], "host.json must run `chargeback serve`"
with open(os.path.join(pkg, exe), "rb") as f:
    head = f.read(20)
assert head[:4] == b"\x7fELF", "chargeback is not an ELF binary"
assert head[4] == 2 and int.from_bytes(head[18:20], "little") == 0x3E, "chargeback is not x86-64"
mode = os.stat(os.path.join(pkg, exe)).st_mode
assert mode & stat.S_IXUSR and mode & stat.S_IXGRP and mode & stat.S_IXOTH, "chargeback must be 0755"
print("infra: host.json runs %s %s; binary is x86-64 ELF, mode %o" % (exe, " ".join(desc["arguments"]), mode & 0o777))
PY
# A static binary has no ELF interpreter (the Functions Linux image's libc does not matter then).
if command -v readelf >/dev/null 2>&1; then
  if readelf -l "$pkg/chargeback" | grep -q 'Requesting program interpreter'; then
    fail "chargeback is dynamically linked; the musl build must be static"
  fi
  echo "infra: chargeback is statically linked"
fi
if command -v ldd >/dev/null 2>&1 && ldd "$pkg/chargeback" 2>&1 | grep -q 'libssl'; then
  fail "chargeback links OpenSSL; use rustls"
fi
# Start the staged binary the way the Functions host does (`chargeback serve`, port from
# FUNCTIONS_CUSTOMHANDLER_PORT, working directory = package root) and check the host protocol basics:
# GET / answers, and an empty Event Hubs batch gets a 2xx JSON body with Outputs.
echo "infra: smoke-run the staged handler"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
(cd "$pkg" && exec env -i PATH=/usr/bin:/bin FUNCTIONS_CUSTOMHANDLER_PORT="$port" \
  APIM_LOGS_EVENTHUB_NAME=apim-openai-logs CHARGEBACK_RECORD_NON_BILLABLE=false \
  ./chargeback serve >"$stage/handler.log" 2>&1) &
handler_pid=$!
trap 'kill "$handler_pid" 2>/dev/null || true; rm -rf "$stage"' EXIT
ready=""
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/"; then
    ready=1
    break
  fi
  sleep 0.1
done
[ -n "$ready" ] || {
  cat "$stage/handler.log" >&2
  fail "the staged chargeback did not answer GET / on FUNCTIONS_CUSTOMHANDLER_PORT"
}
batch='{"Data":{"events":"[]"},"Metadata":{}}'
answer="$(curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' --data-binary "$batch" \
  "http://127.0.0.1:$port/ChargebackEventHubTrigger")" || fail "POST /ChargebackEventHubTrigger failed"
status="${answer##*$'\n'}"
body="${answer%$'\n'*}"
case "$status" in
  2??) ;;
  *) fail "an empty batch got HTTP $status: $body" ;;
esac
printf '%s' "$body" | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert isinstance(d, dict) and "Outputs" in d, "no Outputs in the invocation response"' ||
  fail "the invocation response is not the host protocol JSON: $body"
kill "$handler_pid" 2>/dev/null || true
wait "$handler_pid" 2>/dev/null || true
echo "infra: staged handler answers GET / and an empty batch (HTTP $status)"

echo "infra: package layout ok:"
(cd "$pkg" && find . -type f -printf '%m %p\n' | sort -k2)
echo "infra: all infra checks passed"
