#!/usr/bin/env bash
# Shared by the test scripts (sourced, not run). Reads the gateway settings from the environment or from
# `azd env get-values`, fetches the APIM subscription key with `az` at run time (kept in a shell variable,
# never written to disk, never put on a command line), sends the request and prints response and usage.

# Values the scripts need; each may come from the environment or from the azd environment.
CHARGEBACK_ENV_KEYS=(APIM_GATEWAY_URL APIM_NAME APIM_SUBSCRIPTION_NAME AZURE_RESOURCE_GROUP AZURE_SUBSCRIPTION_ID
  AZURE_OPENAI_CHAT_DEPLOYMENT AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT AZURE_OPENAI_COMPLETIONS_DEPLOYMENT)

die() {
  echo "error: $*" >&2
  exit 1
}

# Fill unset variables from `azd env get-values` (KEY="value" lines). Only the known keys are read and the
# output is parsed, never evaluated.
load_azd_env() {
  local missing=0 key
  for key in "${CHARGEBACK_ENV_KEYS[@]}"; do
    [ -n "${!key:-}" ] || missing=1
  done
  [ "$missing" -eq 1 ] || return 0
  command -v azd >/dev/null 2>&1 || return 0
  local values line name value
  values="$(azd env get-values 2>/dev/null)" || return 0
  while IFS= read -r line; do
    name="${line%%=*}"
    value="${line#*=}"
    value="${value#\"}"
    value="${value%\"}"
    for key in "${CHARGEBACK_ENV_KEYS[@]}"; do
      if [ "$name" = "$key" ] && [ -z "${!key:-}" ]; then
        printf -v "$key" '%s' "$value"
        export "${key?}"
      fi
    done
  done <<<"$values"
}

# Sets SUBSCRIPTION_KEY (not exported). APIM_SUBSCRIPTION_KEY wins; otherwise `az rest` asks the management
# plane for the subscription's primary key.
fetch_subscription_key() {
  if [ -n "${APIM_SUBSCRIPTION_KEY:-}" ]; then
    SUBSCRIPTION_KEY="$APIM_SUBSCRIPTION_KEY"
    return 0
  fi
  command -v az >/dev/null 2>&1 || die "APIM_SUBSCRIPTION_KEY is not set and the Azure CLI (az) is not installed"
  local sub="${AZURE_SUBSCRIPTION_ID:-}"
  if [ -z "$sub" ]; then
    sub="$(az account show --query id -o tsv)" || die "az account show failed (run az login)"
  fi
  [ -n "${AZURE_RESOURCE_GROUP:-}" ] || die "AZURE_RESOURCE_GROUP is not set (run azd up, or export it)"
  [ -n "${APIM_NAME:-}" ] || die "APIM_NAME is not set (run azd up, or export it)"
  local name="${APIM_SUBSCRIPTION_NAME:-chargeback-demo}"
  local uri="https://management.azure.com/subscriptions/${sub}/resourceGroups/${AZURE_RESOURCE_GROUP}/providers/Microsoft.ApiManagement/service/${APIM_NAME}/subscriptions/${name}/listSecrets?api-version=2024-05-01"
  SUBSCRIPTION_KEY="$(az rest --method post --uri "$uri" --query primaryKey -o tsv)" || die "could not read the APIM subscription key with az"
  [ -n "$SUBSCRIPTION_KEY" ] || die "the APIM subscription key is empty"
}

# JSON string literal of $1 (quotes included).
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

# Parses -s/--stream (or STREAM=1) into STREAM=true|false; -h prints usage.
parse_stream_flag() {
  case "${STREAM:-}" in
    1 | true | yes) STREAM=true ;;
    *) STREAM=false ;;
  esac
  local arg
  for arg in "$@"; do
    case "$arg" in
      -s | --stream) STREAM=true ;;
      --no-stream) STREAM=false ;;
      -h | --help)
        echo "usage: $(basename "$0") [--stream]"
        echo "reads APIM_GATEWAY_URL, deployment names and APIM_SUBSCRIPTION_KEY from the environment or azd env"
        exit 0
        ;;
      *) die "unknown argument: $arg" ;;
    esac
  done
}

# post_json PATH_AND_QUERY BODY: POSTs to the gateway, prints the response, sets RESPONSE_BODY.
# The key reaches curl through its stdin config, so it is not visible in the process list.
post_json() {
  local url="${APIM_GATEWAY_URL%/}$1" body="$2" output status
  command -v curl >/dev/null 2>&1 || die "curl is required"
  echo "POST $url"
  output="$(printf 'header = "api-key: %s"\n' "$SUBSCRIPTION_KEY" |
    curl --silent --show-error --no-buffer --config - \
      --request POST \
      --header "Content-Type: application/json" \
      --data-binary "$body" \
      --write-out '\n%{http_code}' \
      "$url")" || die "request to $url failed"
  status="${output##*$'\n'}"
  RESPONSE_BODY="${output%$'\n'*}"
  echo "HTTP $status"
  echo "$RESPONSE_BODY"
  case "$status" in
    2??) ;;
    *) die "the gateway answered HTTP $status" ;;
  esac
}

# Prints the usage object of a JSON response, or of the last SSE event that carries one.
# Returns 1 when there is none.
print_usage() {
  local body="$1" usage=""
  if [ "$STREAM" = true ]; then
    local line payload
    while IFS= read -r line; do
      line="${line%$'\r'}"
      case "$line" in
        data:*) payload="${line#data:}" ;;
        *) continue ;;
      esac
      payload="${payload# }"
      [ "$payload" = "[DONE]" ] && continue
      local found
      found="$(extract_usage "$payload")"
      [ -n "$found" ] && usage="$found"
    done <<<"$body"
  else
    usage="$(extract_usage "$body")"
  fi
  if [ -z "$usage" ]; then
    return 1
  fi
  echo "usage: $usage"
}

# The non-null "usage" of one JSON document (also inside "response" for Responses API events).
extract_usage() {
  if command -v jq >/dev/null 2>&1; then
    printf '%s' "$1" | jq -c 'if type == "object" then (.usage // .response.usage // empty) else empty end' 2>/dev/null
  elif command -v python3 >/dev/null 2>&1; then
    printf '%s' "$1" | python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
u = d.get("usage") if isinstance(d, dict) else None
if not u and isinstance(d, dict) and isinstance(d.get("response"), dict):
    u = d["response"].get("usage")
if u:
    print(json.dumps(u, separators=(",", ":")))'
  else
    case "$1" in
      *'"usage":{'*) printf '%s\n' "$1" ;;
    esac
  fi
}
