#!/usr/bin/env bash
# Shared by the azd hooks and the operator scripts (sourced, not run).
# azd passes its environment (.azure/<env>/.env) to hooks as variables; run by hand, a value missing from
# the shell is read with `azd env get-value`.

hook_die() {
  echo "${HOOK_NAME:-hook}: $*" >&2
  exit 1
}

# env_value NAME: $NAME, else `azd env get-value NAME`, else empty.
env_value() {
  local name="$1" value="${!1:-}"
  if [ -z "$value" ] && command -v azd >/dev/null 2>&1; then
    value="$(azd env get-value "$name" 2>/dev/null || true)"
    case "$value" in
      ERROR* | *"not found"*) value="" ;;
    esac
  fi
  printf '%s' "$value"
}

# The public address of this machine as seen by Azure: DEPLOYER_IP, else ipify (HTTPS).
public_ip() {
  local ip="${DEPLOYER_IP:-}"
  if [ -z "$ip" ]; then
    ip="$(curl -fsS --max-time 10 https://api.ipify.org)" || hook_die "cannot find this machine's public address (set DEPLOYER_IP)"
  fi
  case "$ip" in
    *[!0-9.]* | "") hook_die "'$ip' is not an IPv4 address (set DEPLOYER_IP to your public IPv4 address)" ;;
  esac
  printf '%s' "$ip"
}

# The azd environment directory (.azure/<env>) where the markers of open openings are kept.
state_dir() {
  local root env
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  env="$(env_value AZURE_ENV_NAME)"
  printf '%s/.azure/%s' "$root" "${env:-default}"
}
