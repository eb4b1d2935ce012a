#!/usr/bin/env bash
# Opens and closes the Function App's SCM (deployment) site for a deploy from outside the VNet.
#
#   scm-access.sh open    service predeploy hook: close any leftover opening, then allow only this
#                         machine's public address (/32) on the SCM site and turn public access on
#   scm-access.sh close   service postdeploy hook, and the first hook of the next run (project predeploy,
#                         preflight): remove the rule, turn public access off, check it is off
#
# At rest the app is private (publicNetworkAccess Disabled) and both access-restriction lists default to
# Deny with no rules (infra/modules/function-app.bicep), so while the opening exists only the SCM site
# answers, and only to this address. azd skips post-hooks when a step fails, so a failed deploy leaves the
# opening until the next azd command's first hook, or `infra/hooks/scm-access.sh close` (or deploy through
# infra/hooks/azd-deploy.sh, which closes in a trap). A marker in .azure/<env>/ records an open opening.
# With DEPLOY_FROM_VNET=true nothing is ever opened or changed.
set -euo pipefail
HOOK_NAME="scm-access"
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RULE="azd-deploy"
mode="${1:-}"
case "$mode" in
  open | close) ;;
  *) hook_die "usage: scm-access.sh open|close" ;;
esac

if [ "$(env_value DEPLOY_FROM_VNET)" = "true" ]; then
  echo "scm-access: DEPLOY_FROM_VNET=true: deploying from inside the VNet, nothing to $mode"
  exit 0
fi

app="$(env_value FUNCTION_APP_NAME)"
rg="$(env_value AZURE_RESOURCE_GROUP)"
if [ -z "$app" ] || [ -z "$rg" ]; then
  [ "$mode" = "close" ] && {
    echo "scm-access: no Function App provisioned yet, nothing to close"
    exit 0
  }
  hook_die "FUNCTION_APP_NAME / AZURE_RESOURCE_GROUP are not set: run azd provision first"
fi
command -v az >/dev/null 2>&1 || hook_die "the Azure CLI (az) is needed to open the SCM site: https://aka.ms/azcli"
marker="$(state_dir)/scm-opening"

close_opening() {
  local rules
  if [ -f "$marker" ]; then
    echo "scm-access: closing the SCM opening recorded in $marker ($(cat "$marker"))"
  fi
  rules="$(az functionapp config access-restriction show -g "$rg" -n "$app" \
    --query "scmIpSecurityRestrictions[?name=='$RULE'].name" -o tsv)" ||
    hook_die "cannot read the access restrictions of $app (az login? Website Contributor on the app?)"
  if [ -n "$rules" ]; then
    echo "scm-access: removing the SCM rule $RULE of $app"
    az functionapp config access-restriction remove -g "$rg" -n "$app" --rule-name "$RULE" --scm-site true -o none ||
      hook_die "could not remove the SCM rule $RULE of $app; remove it in the portal (Networking > Access restriction)"
  fi
  local now
  now="$(az resource show -g "$rg" -n "$app" --resource-type Microsoft.Web/sites --query properties.publicNetworkAccess -o tsv)" ||
    hook_die "cannot read publicNetworkAccess of $app"
  if [ "$now" != "Disabled" ]; then
    az resource update -g "$rg" -n "$app" --resource-type Microsoft.Web/sites \
      --set properties.publicNetworkAccess=Disabled -o none ||
      hook_die "could not disable public network access of $app: run az resource update -g $rg -n $app --resource-type Microsoft.Web/sites --set properties.publicNetworkAccess=Disabled"
    now="$(az resource show -g "$rg" -n "$app" --resource-type Microsoft.Web/sites --query properties.publicNetworkAccess -o tsv)"
    [ "$now" = "Disabled" ] || hook_die "$app still reports publicNetworkAccess=$now"
  fi
  rm -f "$marker"
  echo "scm-access: $app is private again (publicNetworkAccess Disabled, no SCM rule)"
}

open_opening() {
  local ip
  close_opening
  ip="$(public_ip)"
  mkdir -p "$(dirname "$marker")"
  # Written before the opening so that even an interrupted open is found and closed by the next run.
  printf 'opened %s for %s/32\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ip" >"$marker"
  az functionapp config access-restriction add -g "$rg" -n "$app" --rule-name "$RULE" --action Allow \
    --ip-address "$ip/32" --priority 100 --scm-site true -o none ||
    hook_die "could not add the SCM rule for $ip/32"
  az resource update -g "$rg" -n "$app" --resource-type Microsoft.Web/sites \
    --set properties.publicNetworkAccess=Enabled -o none ||
    hook_die "could not enable public network access of $app for the deploy"
  echo "scm-access: the SCM site of $app accepts $ip/32 for this deploy (main site: Deny); postdeploy closes it."
  echo "scm-access: if the deploy fails, azd skips postdeploy: the next azd up/deploy closes it first, or run infra/hooks/scm-access.sh close."
}

if [ "$mode" = "open" ]; then
  open_opening
else
  close_opening
fi
