#!/usr/bin/env bash
# Embeddings through the APIM gateway: ./testembeddings.sh [--stream]
# Embeddings never stream; --stream is accepted for symmetry and sends "stream": true, which the service
# ignores or rejects, so the script still exercises the gateway path.
# Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or az.
set -euo pipefail
# shellcheck source=./common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
parse_stream_flag "$@"
load_azd_env
[ -n "${APIM_GATEWAY_URL:-}" ] || die "APIM_GATEWAY_URL is not set (run azd up, or export it)"
deployment="${AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT:-embeddings}"
api_version="${AZURE_OPENAI_API_VERSION:-2024-10-21}"
prompt="${PROMPT:-Chargeback for Azure OpenAI}"
fetch_subscription_key

if [ "$STREAM" = true ]; then
  body="{\"input\":$(json_string "$prompt"),\"stream\":true}"
else
  body="{\"input\":$(json_string "$prompt")}"
fi
STREAM=false
post_json "/openai/deployments/${deployment}/embeddings?api-version=${api_version}" "$body"
print_usage "$RESPONSE_BODY" || die "no usage in the response"
