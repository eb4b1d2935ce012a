#!/usr/bin/env bash
# Onboards a consumer team: creates an APIM subscription for it on the `chargeback` product (every call
# with its key is metered under the subscription name) and prints where the key is. The key itself is never
# printed, stored or put on a command line.
#
#   ./test-scripts/onboard-consumer.sh --team finance-bot [--display-name "Finance bot"]
set -euo pipefail
HOOK_NAME="onboard-consumer"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../infra/hooks/common.sh
. "$here/../infra/hooks/common.sh"

team="" display=""
while [ $# -gt 0 ]; do
  case "$1" in
    --team) team="${2:?--team NAME}"; shift 2 ;;
    --display-name) display="${2:?--display-name TEXT}"; shift 2 ;;
    *) hook_die "usage: onboard-consumer.sh --team NAME [--display-name TEXT]" ;;
  esac
done
# APIM subscription ids: letters, digits and hyphens; the id is the consumer name in the ledger.
case "$team" in
  "" | *[!a-zA-Z0-9-]*) hook_die "--team takes letters, digits and hyphens (it becomes the subscription id)" ;;
esac
display="${display:-$team}"
case "$display" in *[\"\\]*) hook_die "--display-name must not contain quotes or backslashes" ;; esac

apim="$(env_value APIM_NAME)"
rg="$(env_value AZURE_RESOURCE_GROUP)"
sub="$(env_value AZURE_SUBSCRIPTION_ID)"
[ -n "$apim" ] || hook_die "APIM_NAME not set (run azd up first)"
[ -n "$rg" ] || hook_die "AZURE_RESOURCE_GROUP not set (run azd up first)"
command -v az >/dev/null 2>&1 || hook_die "the Azure CLI (az) is needed"
[ -n "$sub" ] || sub="$(az account show --query id -o tsv)"

base="https://management.azure.com/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.ApiManagement/service/$apim"
api="api-version=2024-05-01"
body="{\"properties\":{\"displayName\":\"$display\",\"scope\":\"/products/chargeback\",\"state\":\"active\",\"allowTracing\":false}}"
# The answer of a PUT carries no key (keys come only from listSecrets); print only name and state.
az rest --method put --uri "$base/subscriptions/$team?$api" --body "$body" \
  --query "{name: name, state: properties.state, scope: properties.scope}" -o tsv
echo "onboard-consumer: subscription '$team' is active on the product chargeback."
echo "onboard-consumer: its key is in the Azure portal: API Management $apim > Subscriptions > $team > Show keys,"
echo "onboard-consumer: or for the team's secret store: az rest --method post --uri \"$base/subscriptions/$team/listSecrets?$api\" --query primaryKey -o tsv"
echo "onboard-consumer: usage shows up under consumer '$team' in the ledger, customEvents and the workbook."
