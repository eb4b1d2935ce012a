#!/usr/bin/env bash
# Makes Python `tiktoken` work offline: fills a cache folder with the rank files that the
# tiktoken-rs crate ships, each named as tiktoken names its cache entries — the sha1 hex of the
# download URL — and prints the folder. Use: export TIKTOKEN_CACHE_DIR="$(benches/setup-tiktoken-cache.sh)"
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$ROOT/target/tiktoken-cache}"
mkdir -p "$DIR"
ASSETS=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -mindepth 3 -maxdepth 3 -type d -path '*/tiktoken-rs-*/assets' 2>/dev/null | sort -V | tail -n 1)
if [ -z "$ASSETS" ]; then
  echo "setup-tiktoken-cache: no tiktoken-rs sources found; run 'cargo fetch' first" >&2
  exit 1
fi
for enc in cl100k_base o200k_base; do
  url="https://openaipublic.blob.core.windows.net/encodings/$enc.tiktoken"
  key=$(printf '%s' "$url" | sha1sum | cut -d' ' -f1)
  cp "$ASSETS/$enc.tiktoken" "$DIR/$key"
done
echo "$DIR"
