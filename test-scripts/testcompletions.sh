#!/usr/bin/env bash
# Text completion through the APIM gateway: ./testcompletions.sh [--stream]
# Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_COMPLETIONS_DEPLOYMENT (needs a completions model such as
# gpt-35-turbo-instruct); key: APIM_SUBSCRIPTION_KEY or fetched with az.
set -euo pipefail
# shellcheck source=./common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_stream_flag "$@"
load_azd_env
[ -n "${APIM_GATEWAY_URL:-}" ] || die "APIM_GATEWAY_URL is not set (run azd up, or export it)"
deployment="${AZURE_OPENAI_COMPLETIONS_DEPLOYMENT:-completions}"
api_version="${AZURE_OPENAI_API_VERSION:-2024-10-21}"
prompt="${PROMPT:-Chargeback means}"
fetch_subscription_key

body="{\"prompt\":$(json_string "$prompt"),\"max_tokens\":50,\"stream\":$STREAM}"
post_json "/openai/deployments/${deployment}/completions?api-version=${api_version}" "$body"
if ! print_usage "$RESPONSE_BODY"; then
  # Streamed completions carry no usage chunk; the chargeback handler counts the tokens itself.
  [ "$STREAM" = true ] || die "no usage in the response"
  echo "usage: not in the stream (the chargeback handler counts the tokens with the model's tokenizer)"
fi
