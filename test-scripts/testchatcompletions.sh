#!/usr/bin/env bash
# Chat completion through the APIM gateway: ./testchatcompletions.sh [--stream]
# Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_CHAT_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or fetched with az.
set -euo pipefail
# shellcheck source=./common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_stream_flag "$@"
load_azd_env
[ -n "${APIM_GATEWAY_URL:-}" ] || die "APIM_GATEWAY_URL is not set (run azd up, or export it)"
deployment="${AZURE_OPENAI_CHAT_DEPLOYMENT:-chat}"
api_version="${AZURE_OPENAI_API_VERSION:-2024-10-21}"
prompt="${PROMPT:-Write one sentence about chargeback.}"
fetch_subscription_key

body="{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},{\"role\":\"user\",\"content\":$(json_string "$prompt")}],\"max_tokens\":100,\"stream\":$STREAM}"
post_json "/openai/deployments/${deployment}/chat/completions?api-version=${api_version}" "$body"
# Streamed chat: the gateway policy adds stream_options.include_usage, so a usage chunk is expected.
print_usage "$RESPONSE_BODY" || die "no usage in the response"
