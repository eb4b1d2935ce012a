#!/usr/bin/env bash
# Runs every test-scripts/*.sh against the local mock gateway (mock_gateway.py) with stream on and off and
# checks what reached the gateway: path, api-version, api-key header, Content-Type and body. Also runs the
# azd/az discovery path with stub `azd` and `az` commands, checks a wrong key fails the script, and checks
# the key was not written to the temp directory. No Azure needed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scripts="$(cd "$here/.." && pwd)"
work="$(mktemp -d)"
mock_pid=""

cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

key_env="mock-key-from-env-0123456789"
key_az="mock-key-from-az-9876543210"
log="$work/requests.jsonl"
: >"$log"

start_mock() {
  local key="$1"
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -f "$work/port"
  python3 "$here/mock_gateway.py" serve --port-file "$work/port" --log "$log" --key "$key" &
  mock_pid=$!

  for _ in $(seq 1 50); do
    [ -s "$work/port" ] && break
    sleep 0.1
  done
  [ -s "$work/port" ] || {
    echo "mock gateway did not start" >&2
    exit 1
  }
  gateway="http://127.0.0.1:$(cat "$work/port")"
}

check_last() {
  python3 "$here/mock_gateway.py" assert --log "$log" "$@"
}

passed=0
run_case() {
  local name="$1"
  shift
  echo "--- $name"
  "$@"
  passed=$((passed + 1))
}

# 1. Values from the environment, key from APIM_SUBSCRIPTION_KEY.
start_mock "$key_env"
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
env_run() {
  env -u AZURE_RESOURCE_GROUP -u APIM_NAME \
    APIM_GATEWAY_URL="$gateway" APIM_SUBSCRIPTION_KEY="$key_env" \
    AZURE_OPENAI_CHAT_DEPLOYMENT=chat AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT=embeddings \
    AZURE_OPENAI_COMPLETIONS_DEPLOYMENT=instruct PATH="$work/empty-bin:/usr/bin:/bin" \
    "$@"
}
mkdir -p "$work/empty-bin"

for stream in false true; do
  flag=()
  [ "$stream" = true ] && flag=(--stream)
  run_case "chat completions stream=$stream" env_run bash "$scripts/testchatcompletions.sh" "${flag[@]}"
  check_last --path /openai/deployments/chat/chat/completions --api-version 2024-10-21 --stream "$stream" \
    --key "$key_env" --field messages --field max_tokens

  run_case "completions stream=$stream" env_run bash "$scripts/testcompletions.sh" "${flag[@]}"
  check_last --path /openai/deployments/instruct/completions --api-version 2024-10-21 --stream "$stream" \
    --key "$key_env" --field prompt

  run_case "responses (v1) stream=$stream" env_run bash "$scripts/testresponses.sh" "${flag[@]}"
  check_last --path /openai/v1/responses --no-api-version --stream "$stream" --key "$key_env" \
    --field model=chat --field input
done

run_case "embeddings" env_run bash "$scripts/testembeddings.sh"
check_last --path /openai/deployments/embeddings/embeddings --api-version 2024-10-21 --stream false \
  --key "$key_env" --field input
run_case "embeddings --stream (sent as stream:true, answered as JSON)" env_run bash "$scripts/testembeddings.sh" --stream
check_last --path /openai/deployments/embeddings/embeddings --api-version 2024-10-21 --stream true \
  --key "$key_env" --field input

run_case "responses (dated route) stream=true" \
  env_run AZURE_OPENAI_RESPONSES_API_VERSION=2025-04-01-preview bash "$scripts/testresponses.sh" --stream
check_last --path /openai/responses --api-version 2025-04-01-preview --stream true --key "$key_env" --field model=chat

run_case "api-version override" \
  env_run AZURE_OPENAI_API_VERSION=2025-01-01-preview bash "$scripts/testchatcompletions.sh" --stream
check_last --path /openai/deployments/chat/chat/completions --api-version 2025-01-01-preview --stream true --key "$key_env"

# 2. Nothing in the environment: values from `azd env get-values`, key from `az rest ... listSecrets`.
start_mock "$key_az"
stub="$work/stub-bin"
mkdir -p "$stub"
cat >"$stub/azd" <<STUB
#!/usr/bin/env bash
[ "\$1 \$2" = "env get-values" ] || exit 2
echo 'APIM_GATEWAY_URL="$gateway"'
echo 'APIM_NAME="apim-mock"'
echo 'APIM_SUBSCRIPTION_NAME="chargeback-demo"'
echo 'AZURE_RESOURCE_GROUP="rg-chargeback-mock"'
echo 'AZURE_SUBSCRIPTION_ID="00000000-0000-0000-0000-000000000000"'
echo 'AZURE_OPENAI_CHAT_DEPLOYMENT="chat-from-azd"'
echo 'AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT="embeddings-from-azd"'
STUB
cat >"$stub/az" <<STUB
#!/usr/bin/env bash
case "\$*" in
  *"rest --method post --uri https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-chargeback-mock/providers/Microsoft.ApiManagement/service/apim-mock/subscriptions/chargeback-demo/listSecrets?api-version="*"--query primaryKey -o tsv"*)
    echo "$key_az" ;;
  *) echo "unexpected az call: \$*" >&2; exit 3 ;;
esac
STUB
chmod +x "$stub/azd" "$stub/az"
azd_run() {
  env -i HOME="$work" TMPDIR="$TMPDIR" PATH="$stub:/usr/bin:/bin" bash "$@"
}
run_case "chat completions via azd env + az key, stream=true" azd_run "$scripts/testchatcompletions.sh" --stream
check_last --path /openai/deployments/chat-from-azd/chat/completions --api-version 2024-10-21 --stream true --key "$key_az"
run_case "embeddings via azd env + az key" azd_run "$scripts/testembeddings.sh"
check_last --path /openai/deployments/embeddings-from-azd/embeddings --api-version 2024-10-21 --stream false --key "$key_az"

# 3. A wrong key must make the script fail (non-zero exit).
echo "--- wrong key fails"
if env -i HOME="$work" TMPDIR="$TMPDIR" PATH="/usr/bin:/bin" APIM_GATEWAY_URL="$gateway" \
  APIM_SUBSCRIPTION_KEY="not-the-key" bash "$scripts/testchatcompletions.sh" >"$work/wrong.out" 2>&1; then
  echo "testchatcompletions.sh exited 0 with a wrong key" >&2
  exit 1
fi
grep -q "HTTP 401" "$work/wrong.out" || {
  echo "expected the 401 to be printed" >&2
  exit 1
}
passed=$((passed + 1))

# 4. The key never lands on disk (temp dir of the runs, and the scripts directory; mock/ holds the fake keys).
echo "--- key not written to disk"
if grep -rqs --exclude-dir=mock -e "$key_env" -e "$key_az" "$TMPDIR" "$scripts"; then
  echo "a subscription key was written to disk" >&2
  exit 1
fi
passed=$((passed + 1))

echo "mock gateway tests: $passed passed"
