#!/usr/bin/env bash
# The deploy-path hooks against a fake `az` and a fake `azd` (fake-bin/) that record every call and keep the
# state the hooks change. The fake azd runs the hooks of the real azure.yaml with azd's semantics (no post
# hook after a failed step). Checks: a good deploy opens one /32 SCM-only rule and closes it again; a failed
# deploy's opening is reported, left (azd skips postdeploy), and closed by the next run's first hook, by
# preflight, or by the wrapper's trap; DEPLOY_FROM_VNET never changes anything; preflight prints the fix
# for each failure; the ledger opening is closed after a download, also a failed one; onboarding never
# prints a key. No Azure, no network.
# `check && pass || fail` is intended: pass only prints. The azd env file is written at run time.
# shellcheck disable=SC2015,SC1091
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A copy of the project, so the hooks' markers (.azure/<env>/) never touch the working tree.
project="$work/project"
mkdir -p "$project"
cp -R "$repo/azure.yaml" "$repo/infra" "$repo/test-scripts" "$project/"

stubs="$work/stubs"
mkdir -p "$stubs"
for tool in cargo musl-gcc; do
  printf '#!/bin/sh\necho "%s 1.0.0"\n' "$tool" >"$stubs/$tool"
  chmod +x "$stubs/$tool"
done

export PATH="$here/fake-bin:$stubs:$PATH"
export FAKE_PROJECT="$project" DEPLOYER_IP="203.0.113.7"
unset FUNCTION_APP_NAME AZURE_RESOURCE_GROUP DEPLOY_FROM_VNET AZURE_ENV_NAME AZURE_LOCATION AZURE_SUBSCRIPTION_ID

fails=0
pass() { echo "hook-tests: ok   $*"; }
fail() {
  echo "hook-tests: FAIL $*" >&2
  fails=$((fails + 1))
}

# fresh [extra env lines...]: a new fake state, the app provisioned and closed.
fresh() {
  export FAKE_STATE="$work/state-$RANDOM$RANDOM"
  mkdir -p "$FAKE_STATE"
  echo "Disabled" >"$FAKE_STATE/site-pna"
  echo "Disabled" >"$FAKE_STATE/storage-pna"
  : >"$FAKE_STATE/rules"
  : >"$FAKE_STATE/calls"
  {
    echo 'AZURE_ENV_NAME="hooktest"'
    echo 'AZURE_RESOURCE_GROUP="rg-chargeback-hooktest"'
    echo 'FUNCTION_APP_NAME="func-chargeback-abc"'
    echo 'AZURE_LOCATION="swedencentral"'
    echo 'AZURE_SUBSCRIPTION_ID="00000000-0000-0000-0000-00000000feed"'
    echo 'STORAGE_ACCOUNT_NAME="stabc"'
    echo 'APIM_NAME="apim-abc"'
    for line in "$@"; do echo "$line"; done
  } >"$FAKE_STATE/azd-env"
  rm -rf "$project/.azure"
}

closed() { [ "$(cat "$FAKE_STATE/site-pna")" = "Disabled" ] && [ ! -s "$FAKE_STATE/rules" ]; }
open_now() { [ "$(cat "$FAKE_STATE/site-pna")" = "Enabled" ] && grep -q "^azd-deploy 203.0.113.7/32 scm$" "$FAKE_STATE/rules"; }
marker="$project/.azure/hooktest/scm-opening"

# 1. A good deploy: opened for this address on the SCM site only, closed afterwards.
fresh
if (cd "$project" && azd deploy >"$work/out" 2>&1) && closed && [ ! -e "$marker" ]; then
  pass "a good deploy opens the SCM site and closes it again"
else
  fail "good deploy: $(cat "$work/out")"
fi
grep -q -- "access-restriction add .*--ip-address 203.0.113.7/32 .*--scm-site true" "$FAKE_STATE/calls" &&
  ! grep "access-restriction add" "$FAKE_STATE/calls" | grep -qv -- "--scm-site true" &&
  pass "the only rule added is one /32 on the SCM site" || fail "rules added: $(grep 'access-restriction add' "$FAKE_STATE/calls")"
order="$(grep -o -E '^deploy chargeback|publicNetworkAccess=(Enabled|Disabled)' "$FAKE_STATE/calls" | tail -n 3 | tr '\n' ' ')"
case "$order" in
  "publicNetworkAccess=Enabled deploy chargeback publicNetworkAccess=Disabled ") pass "open, deploy, close happen in that order" ;;
  *) fail "order of open/deploy/close: $order" ;;
esac

# 2. A failed deploy: azd skips postdeploy, the opening stays and says so; the next deploy closes it first.
fresh
FAKE_DEPLOY_FAIL=1 bash -c "cd '$project' && azd deploy" >"$work/out" 2>&1 && fail "the failed deploy exited 0"
if open_now && [ -e "$marker" ] && grep -q "if the deploy fails, azd skips postdeploy" "$work/out"; then
  pass "a failed deploy leaves the opening (azd skips postdeploy), recorded and announced, not silent"
else
  fail "after a failed deploy: pna=$(cat "$FAKE_STATE/site-pna") rules=$(cat "$FAKE_STATE/rules") out=$(cat "$work/out")"
fi
: >"$FAKE_STATE/calls"
FAKE_DEPLOY_FAIL=1 bash -c "cd '$project' && azd deploy" >"$work/out2" 2>&1 || true
first_change="$(grep -E 'access-restriction (add|remove)|resource update' "$FAKE_STATE/calls" | head -n1 || true)"
case "$first_change" in
  *"access-restriction remove"*) pass "the next run's first hook (project predeploy) closes the leftover before anything else" ;;
  *) fail "the next run began with: $first_change" ;;
esac
grep -q "closing the SCM opening recorded in" "$work/out2" && pass "the leftover is named when it is closed" ||
  fail "no message about the leftover: $(cat "$work/out2")"

# 3. azd up after a failed deploy: preflight (preup, the earliest hook) closes the leftover.
fresh
FAKE_DEPLOY_FAIL=1 bash -c "cd '$project' && azd deploy" >/dev/null 2>&1 || true
open_now || fail "setup: the failed deploy did not leave an opening"
: >"$FAKE_STATE/calls"
(cd "$project" && azd up >"$work/out" 2>&1) || fail "azd up after a failed deploy: $(cat "$work/out")"
hook_line="$(grep -n '^hook project preup' "$FAKE_STATE/calls" | cut -d: -f1 || true)"
remove_line="$(grep -n 'access-restriction remove' "$FAKE_STATE/calls" | head -n1 | cut -d: -f1 || true)"
provision_line="$(grep -n '^provision' "$FAKE_STATE/calls" | cut -d: -f1 || true)"
if [ -n "$hook_line" ] && [ -n "$remove_line" ] && [ -n "$provision_line" ] &&
  [ "$remove_line" -lt "$provision_line" ] && closed; then
  pass "azd up: preup's preflight closes the leftover before provisioning, and the stack ends closed"
else
  fail "azd up: preup=$hook_line remove=$remove_line provision=$provision_line pna=$(cat "$FAKE_STATE/site-pna")"
fi

# 4. The wrapper closes in a trap even when the deploy fails.
fresh
FAKE_DEPLOY_FAIL=1 bash -c "cd '$project' && ./infra/hooks/azd-deploy.sh" >"$work/out" 2>&1 && fail "the wrapper hid the failure"
closed && [ ! -e "$marker" ] && pass "azd-deploy.sh closes the opening of a failed deploy in its trap" ||
  fail "after the wrapper: pna=$(cat "$FAKE_STATE/site-pna") rules=$(cat "$FAKE_STATE/rules")"

# 5. DEPLOY_FROM_VNET=true: nothing is opened or changed, the deploy still works.
fresh 'DEPLOY_FROM_VNET="true"'
(cd "$project" && azd deploy >"$work/out" 2>&1) || fail "deploy from the VNet failed: $(cat "$work/out")"
if grep -qE 'access-restriction|resource update' "$FAKE_STATE/calls"; then
  fail "DEPLOY_FROM_VNET=true still called: $(grep -E 'access-restriction|resource update' "$FAKE_STATE/calls")"
else
  pass "DEPLOY_FROM_VNET=true never opens or changes anything"
fi

# 6. Preflight: each failure prints its fix and fails.
fresh
FAKE_ALPHA_OFF=1 FAKE_UNREGISTERED="Microsoft.App" FAKE_QUOTA_USED=990 \
  bash -c "cd '$project' && set -a && . '$FAKE_STATE/azd-env' && set +a && ./infra/hooks/preflight.sh" >"$work/out" 2>&1 &&
  fail "preflight passed with failures"
for fix in "azd config set alpha.language.custom on" "az provider register --namespace Microsoft.App --wait" \
  "request quota"; do
  grep -qF "fix: $fix" "$work/out" && pass "preflight prints: $fix" || fail "preflight did not print '$fix': $(cat "$work/out")"
done
fresh
AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM=false \
  bash -c "cd '$project' && set -a && . '$FAKE_STATE/azd-env' && set +a && ./infra/hooks/preflight.sh" >"$work/out" 2>&1 &&
  fail "preflight passed with AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM=false (azd lets the variable win over its config)"
grep -qF "fix: azd config set alpha.language.custom on" "$work/out" &&
  pass "preflight follows azd: the environment variable wins over the config" || fail "env override: $(cat "$work/out")"
fresh
(cd "$project" && set -a && . "$FAKE_STATE/azd-env" && set +a && ./infra/hooks/preflight.sh >"$work/out" 2>&1) &&
  grep -q "all checks passed" "$work/out" && pass "preflight passes on a ready machine" || fail "preflight: $(cat "$work/out")"

# 7. The ledger opening: closed after a download, and after a failed one.
for mode in ok fail; do
  fresh
  dl="$work/ledger-$mode"
  extra=()
  [ "$mode" = "fail" ] && extra=(FAKE_DOWNLOAD_FAIL=1)
  env "${extra[@]}" bash -c "cd '$project' && set -a && . '$FAKE_STATE/azd-env' && set +a && ./test-scripts/ledger-access.sh --download '$dl' --month 2026-12" >"$work/out" 2>&1 && status=0 || status=$?
  [ "$mode" = "ok" ] && [ "$status" -ne 0 ] && fail "ledger-access failed: $(cat "$work/out")"
  [ "$mode" = "fail" ] && [ "$status" -eq 0 ] && fail "ledger-access hid a failed download"
  if [ "$(cat "$FAKE_STATE/storage-pna")" = "Disabled" ] && [ ! -s "$FAKE_STATE/storage-rules" ]; then
    pass "ledger-access ($mode, exit $status) leaves the storage account private"
  else
    fail "ledger-access ($mode): storage-pna=$(cat "$FAKE_STATE/storage-pna") rules=$(cat "$FAKE_STATE/storage-rules")"
  fi
  grep -q -- "--pattern usage-2026-12-\*" "$FAKE_STATE/calls" || fail "ledger-access did not ask for the month's blobs"
done
[ -s "$work/ledger-ok/usage-2026-12-01T10-00-00Z-x.jsonl" ] && pass "ledger-access downloads the ledger" || fail "no ledger downloaded"
# With Capture the account rests at Enabled + Deny + trusted-service bypass: closing removes the address only.
fresh
echo "Enabled" >"$FAKE_STATE/storage-pna"
EVENTHUB_CAPTURE_ENABLED=true bash -c "cd '$project' && set -a && . '$FAKE_STATE/azd-env' && set +a && ./test-scripts/ledger-access.sh --download '$work/ledger-capture' --month 2026-12" >"$work/out" 2>&1 ||
  fail "ledger-access with Capture failed: $(cat "$work/out")"
if [ "$(cat "$FAKE_STATE/storage-pna")" = "Enabled" ] && [ ! -s "$FAKE_STATE/storage-rules" ] &&
  ! grep -q -- "--public-network-access Disabled" "$FAKE_STATE/calls"; then
  pass "ledger-access with Capture removes its address and keeps the Capture exception form"
else
  fail "ledger-access with Capture: storage-pna=$(cat "$FAKE_STATE/storage-pna") rules=$(cat "$FAKE_STATE/storage-rules")"
fi

# 8. Onboarding a team: a subscription on the chargeback product, no key printed.
fresh
(cd "$project" && set -a && . "$FAKE_STATE/azd-env" && set +a && ./test-scripts/onboard-consumer.sh --team finance-bot >"$work/out" 2>&1) ||
  fail "onboard-consumer: $(cat "$work/out")"
grep -q 'rest --method put .*/subscriptions/finance-bot?api-version=2024-05-01 .*"scope":"/products/chargeback"' "$FAKE_STATE/calls" &&
  pass "onboard-consumer creates the subscription on /products/chargeback" || fail "onboard calls: $(cat "$FAKE_STATE/calls")"
grep -q "listSecrets" "$FAKE_STATE/calls" && fail "onboard-consumer read the key" || pass "onboard-consumer never reads the key, only says where it is"
(cd "$project" && ./test-scripts/onboard-consumer.sh --team 'bad name' >/dev/null 2>&1) &&
  fail "onboard-consumer accepted a bad team name" || pass "onboard-consumer rejects a team name that is not an id"

# 9. The package hook stages every price sheet, and the configured one even where only the older file
#    exists (a stub cargo "builds" the binary; the real build runs in .ci/checks/infra.sh).
buildstub="$work/buildstub"
mkdir -p "$buildstub"
cat >"$buildstub/cargo" <<'STUB'
#!/bin/sh
mkdir -p "$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/release"
printf 'ELF' >"$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/release/chargeback"
STUB
printf '#!/bin/sh\necho x86_64-unknown-linux-musl\n' >"$buildstub/rustup"
chmod +x "$buildstub/cargo" "$buildstub/rustup"
for layout in current legacy; do
  rm -rf "$project/prices" "$work/pkg"
  mkdir -p "$project/prices"
  cp "$repo/host.json" "$project/"
  mkdir -p "$project/ChargebackEventHubTrigger"
  cp "$repo/ChargebackEventHubTrigger/function.json" "$project/ChargebackEventHubTrigger/"
  if [ "$layout" = "current" ]; then
    echo '{"v":2}' >"$project/prices/azure-openai-usd.json"
  fi
  echo '{"v":1}' >"$project/prices/azure-openai-global-standard-usd.json"
  if PATH="$buildstub:$PATH" CARGO_TARGET_DIR="$work/target" CHARGEBACK_PACKAGE_DIR="$work/pkg" \
    bash "$project/infra/hooks/package.sh" >"$work/out" 2>&1 &&
    [ -f "$work/pkg/prices/azure-openai-usd.json" ] && [ -f "$work/pkg/prices/azure-openai-global-standard-usd.json" ]; then
    want='{"v":2}'
    [ "$layout" = "legacy" ] && want='{"v":1}'
    [ "$(cat "$work/pkg/prices/azure-openai-usd.json")" = "$want" ] &&
      pass "package stages the price sheets ($layout layout)" || fail "wrong sheet staged ($layout)"
  else
    fail "package ($layout): $(cat "$work/out")"
  fi
done

if [ "$fails" -gt 0 ]; then
  echo "hook-tests: $fails failure(s)" >&2
  exit 1
fi
echo "hook-tests: all passed"
