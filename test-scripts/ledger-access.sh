#!/usr/bin/env bash
# Reads the ledger from a laptop: opens the private storage account to this machine's public address only,
# downloads the ledger container (or keeps the opening for a bounded time), and closes it again, also on
# error or Ctrl-C. Needs Storage Blob Data Reader on the ledger container (the deployerPrincipalId role) and
# the right to change the account's network rules (Contributor on it). From inside the VNet (snet-operators,
# or OPERATOR_ADDRESS_PREFIXES) nothing needs opening: run `az storage blob download-batch` directly.
# With Event Hubs Capture (EVENTHUB_CAPTURE_ENABLED=true) the account's resting state is public access Enabled,
# default action Deny, no IP rule and the trusted-service bypass only (docs/deploy.md): closing then removes
# this address and leaves that state, instead of turning public access off (which would stop Capture).
#
#   ./test-scripts/ledger-access.sh --download ./ledger [--month 2026-12]
#   ./test-scripts/ledger-access.sh --minutes 15         # open for 15 minutes (max 60), then close
#   then: chargeback report ./ledger/*.jsonl --by consumer,model
set -euo pipefail
HOOK_NAME="ledger-access"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../infra/hooks/common.sh
. "$here/../infra/hooks/common.sh"

download="" month="" minutes=""
while [ $# -gt 0 ]; do
  case "$1" in
    --download) download="${2:?--download DIR}"; shift 2 ;;
    --month) month="${2:?--month YYYY-MM}"; shift 2 ;;
    --minutes) minutes="${2:?--minutes N}"; shift 2 ;;
    *) hook_die "usage: ledger-access.sh --download DIR [--month YYYY-MM] | --minutes N" ;;
  esac
done
[ -n "$download" ] || [ -n "$minutes" ] || hook_die "give --download DIR or --minutes N"
if [ -n "$minutes" ]; then
  case "$minutes" in *[!0-9]* | "") hook_die "--minutes takes a whole number" ;; esac
  if [ "$minutes" -lt 1 ] || [ "$minutes" -gt 60 ]; then hook_die "--minutes must be between 1 and 60"; fi
fi
if [ -n "$month" ]; then
  case "$month" in [0-9][0-9][0-9][0-9]-[0-1][0-9]) ;; *) hook_die "--month takes YYYY-MM" ;; esac
fi

account="$(env_value STORAGE_ACCOUNT_NAME)"
rg="$(env_value AZURE_RESOURCE_GROUP)"
container="$(env_value LEDGER_CONTAINER)"
container="${container:-chargeback-ledger}"
capture="$(env_value EVENTHUB_CAPTURE_ENABLED)"
[ -n "$rg" ] || hook_die "AZURE_RESOURCE_GROUP not set (run azd up first)"
[ -n "$account" ] || hook_die "STORAGE_ACCOUNT_NAME / AZURE_RESOURCE_GROUP not set (run azd up first)"
command -v az >/dev/null 2>&1 || hook_die "the Azure CLI (az) is needed"
ip="$(public_ip)"

opened=""
close() {
  [ -n "$opened" ] || return 0
  opened=""
  echo "ledger-access: closing $account to $ip"
  if [ "$capture" = "true" ]; then
    az storage account network-rule remove -g "$rg" --account-name "$account" --ip-address "$ip" -o none ||
      hook_die "could not remove $ip from $account: run az storage account network-rule remove -g $rg --account-name $account --ip-address $ip"
    echo "ledger-access: $account admits no address again (default Deny; only the Capture trusted-service exception)"
    return 0
  fi
  az storage account network-rule remove -g "$rg" --account-name "$account" --ip-address "$ip" -o none || true
  az storage account update -g "$rg" -n "$account" --public-network-access Disabled -o none ||
    hook_die "could not disable public access of $account: run az storage account update -g $rg -n $account --public-network-access Disabled"
  echo "ledger-access: $account is private again"
}
trap close EXIT
trap 'close; exit 130' INT TERM

opened=1
# The account's default action stays Deny: with public access on, only this address is let in.
az storage account network-rule add -g "$rg" --account-name "$account" --ip-address "$ip" -o none
az storage account update -g "$rg" -n "$account" --public-network-access Enabled --default-action Deny -o none
echo "ledger-access: $account accepts $ip only (network rules can take a minute to apply)"

if [ -n "$download" ]; then
  mkdir -p "$download"
  pattern="usage-${month:+$month-}*"
  az storage blob download-batch --auth-mode login --account-name "$account" --source "$container" \
    --destination "$download" --pattern "$pattern" -o none
  echo "ledger-access: downloaded $container/$pattern to $download; now: chargeback report $download/*.jsonl"
else
  echo "ledger-access: open for $minutes minute(s); Ctrl-C closes it earlier"
  sleep "$((minutes * 60))"
fi
