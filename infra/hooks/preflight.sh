#!/usr/bin/env bash
# Checks, before `azd up`, everything that would otherwise fail minutes into it, and prints the one command
# that fixes each problem. Run it by hand first (azd refuses to load this project without the alpha flag,
# before any hook can run); azd also runs it as the `preup` hook. Exit status: 0 all good, 1 a check failed.
#
#   azd >= 1.20.0 and its alpha feature language.custom (azure.yaml uses `language: custom`)
#   az logged in, the subscription azd will use, azd logged in
#   resource providers registered (Microsoft.App for Flex Consumption's VNet integration, ...)
#   in the chosen region: Flex Consumption offered, the models available, their TPM quota free
#   the build tools of the package hook (cargo, the musl target, musl-gcc or cargo-zigbuild)
# Last, it closes an SCM opening a failed deploy left behind (see scm-access.sh).
set -uo pipefail
HOOK_NAME="preflight"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

failures=0
ok() { echo "preflight: ok    $*"; }
warn() { echo "preflight: warn  $*"; }
fail() {
  echo "preflight: FAIL  $1" >&2
  echo "preflight:       fix: $2" >&2
  failures=$((failures + 1))
}

# version_ge A B: A >= B for dotted numeric versions.
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$2" ]
}

check_azd() {
  if ! command -v azd >/dev/null 2>&1; then
    fail "azd is not installed" "install the Azure Developer CLI: https://aka.ms/azd-install"
    return
  fi
  local version
  version="$(azd version 2>/dev/null | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)"
  if [ -z "$version" ] || ! version_ge "$version" "1.20.0"; then
    fail "azd ${version:-unknown} is older than 1.20.0 (language: custom)" "update azd: https://aka.ms/azd-install"
  else
    ok "azd $version"
  fi
  # As azd decides (pkg/alpha): the environment variable wins when it parses as a bool, else alpha.all or
  # alpha.language.custom in azd's config.
  local enabled="" all config
  case "${AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM:-}" in
    1 | t | T | true | TRUE | True) enabled=yes ;;
    0 | f | F | false | FALSE | False) enabled=no ;;
  esac
  if [ -z "$enabled" ]; then
    all="$(azd config get alpha.all 2>/dev/null | tr -d '"[:space:]')"
    config="$(azd config get alpha.language.custom 2>/dev/null | tr -d '"[:space:]')"
    if [ "$all" = "on" ] || [ "$config" = "on" ]; then enabled=yes; fi
  fi
  if [ "$enabled" = "yes" ]; then
    ok "azd alpha feature language.custom is on"
  else
    fail "azd alpha feature language.custom is off: azd refuses azure.yaml's 'language: custom' before any hook runs" \
      "azd config set alpha.language.custom on"
  fi
  if azd auth login --check-status >/dev/null 2>&1; then
    ok "azd is logged in"
  else
    fail "azd is not logged in" "azd auth login"
  fi
}

check_az() {
  if ! command -v az >/dev/null 2>&1; then
    fail "az is not installed (the hooks and test scripts use it)" "install the Azure CLI: https://aka.ms/azcli"
    return 1
  fi
  local current wanted
  if ! current="$(az account show --query id -o tsv 2>/dev/null)" || [ -z "$current" ]; then
    fail "az is not logged in" "az login"
    return 1
  fi
  wanted="$(env_value AZURE_SUBSCRIPTION_ID)"
  if [ -n "$wanted" ] && [ "$wanted" != "$current" ]; then
    fail "az uses subscription $current, the azd environment $wanted" "az account set --subscription $wanted"
    return 1
  fi
  ok "az is logged in (subscription $current)"
}

check_providers() {
  local ns state
  for ns in Microsoft.App Microsoft.ApiManagement Microsoft.CognitiveServices Microsoft.EventHub Microsoft.Web \
    Microsoft.Storage Microsoft.Network Microsoft.OperationalInsights Microsoft.Insights Microsoft.ManagedIdentity; do
    state="$(az provider show --namespace "$ns" --query registrationState -o tsv 2>/dev/null)"
    if [ "$state" = "Registered" ]; then
      ok "provider $ns registered"
    else
      fail "provider $ns is ${state:-not registered}" "az provider register --namespace $ns --wait"
    fi
  done
}

# The model deployments azd will create: OPENAI_DEPLOYMENTS (JSON) or the defaults of main.bicep,
# as "model version sku capacity" lines.
deployments() {
  local json
  json="$(env_value OPENAI_DEPLOYMENTS)"
  if [ -z "$json" ]; then
    printf '%s\n' "gpt-4o 2024-11-20 GlobalStandard 30" "text-embedding-3-small 1 Standard 30"
    return
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    warn "python3 is needed to read OPENAI_DEPLOYMENTS: model checks skipped" >&2
    return
  fi
  printf '%s' "$json" | python3 -c 'import json, sys
for d in json.load(sys.stdin):
    print(d["model"]["name"], d["model"]["version"], d["sku"]["name"], d["sku"]["capacity"])'
}

check_region() {
  local location model version sku capacity usage used limit available
  location="$(env_value AZURE_LOCATION)"
  if [ -z "$location" ]; then
    warn "AZURE_LOCATION is not set yet: region checks skipped (azd env set AZURE_LOCATION <region>, then run again)"
    return
  fi
  if [ -n "$(az functionapp list-flexconsumption-locations --query "[?name=='$location'].name" -o tsv 2>/dev/null)" ]; then
    ok "Flex Consumption is offered in $location"
  else
    fail "Flex Consumption is not offered in $location" "pick a region from: az functionapp list-flexconsumption-locations -o table"
  fi
  while read -r model version sku capacity; do
    [ -n "$model" ] || continue
    available="$(az cognitiveservices model list -l "$location" \
      --query "[?model.name=='$model' && model.version=='$version'] | length(@)" -o tsv 2>/dev/null)"
    if [ -z "$available" ]; then
      warn "az cannot tell whether $model $version is offered in $location"
    elif [ "$available" = "0" ]; then
      fail "$model $version is not offered in $location" "choose another region or model (az cognitiveservices model list -l $location -o table)"
    fi
    usage="$(az cognitiveservices usage list -l "$location" \
      --query "[?name.value=='OpenAI.$sku.$model'] | [0].[currentValue, limit]" -o tsv 2>/dev/null)"
    if [ -z "$usage" ]; then
      warn "az cannot tell the $sku quota of $model in $location"
      continue
    fi
    read -r used limit <<<"$usage"
    used="${used%.*}"
    limit="${limit%.*}"
    if [ $((limit - used)) -lt "$capacity" ]; then
      fail "$model $sku needs ${capacity}K TPM in $location, $((limit - used))K free (limit ${limit}K)" \
        "request quota (https://aka.ms/oai/stuquotarequest) or lower the capacity in OPENAI_DEPLOYMENTS"
    else
      ok "$model $sku: ${capacity}K TPM of $((limit - used))K free in $location"
    fi
  done < <(deployments)
}

check_build_tools() {
  if ! command -v cargo >/dev/null 2>&1; then
    fail "cargo is not installed (the package hook builds the handler)" "curl https://sh.rustup.rs -sSf | sh"
    return
  fi
  ok "cargo $(cargo --version 2>/dev/null | awk '{print $2}')"
  if [ "$(uname -s)" = "Linux" ]; then
    if command -v musl-gcc >/dev/null 2>&1; then
      ok "musl-gcc"
    else
      fail "musl-gcc is missing (C parts of ring for the musl target)" "sudo apt-get install musl-tools"
    fi
  elif ! command -v cargo-zigbuild >/dev/null 2>&1; then
    fail "cargo-zigbuild is missing (cross-compiling to Linux musl)" "cargo install cargo-zigbuild (and install zig)"
  fi
}

check_azd
if check_az; then
  check_providers
  check_region
fi
check_build_tools

if [ "$failures" -gt 0 ]; then
  echo "preflight: $failures check(s) failed; fix them and run ./infra/hooks/preflight.sh again" >&2
  exit 1
fi
# A deploy that failed earlier skipped its postdeploy hook: close what it opened before anything else.
bash "$here/scm-access.sh" close || exit 1
echo "preflight: all checks passed"
