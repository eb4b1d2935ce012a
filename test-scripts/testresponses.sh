#!/usr/bin/env bash
# Responses API through the APIM gateway: ./testresponses.sh [--stream]
# Default route: /openai/v1/responses (no api-version). Set AZURE_OPENAI_RESPONSES_API_VERSION (for example
# 2025-04-01-preview) to use the dated route /openai/responses?api-version=... instead.
# Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_CHAT_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or az.
set -euo pipefail
# shellcheck source=./common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_stream_flag "$@"
load_azd_env
[ -n "${APIM_GATEWAY_URL:-}" ] || die "APIM_GATEWAY_URL is not set (run azd up, or export it)"
deployment="${AZURE_OPENAI_CHAT_DEPLOYMENT:-chat}"
prompt="${PROMPT:-Write one sentence about chargeback.}"
fetch_subscription_key

if [ -n "${AZURE_OPENAI_RESPONSES_API_VERSION:-}" ]; then
  route="/openai/responses?api-version=${AZURE_OPENAI_RESPONSES_API_VERSION}"
else
  route="/openai/v1/responses"
fi
body="{\"model\":$(json_string "$deployment"),\"input\":$(json_string "$prompt"),\"max_output_tokens\":100,\"stream\":$STREAM}"
post_json "$route" "$body"
# Streams end with a response.completed event that carries the usage.
print_usage "$RESPONSE_BODY" || die "no usage in the response"
