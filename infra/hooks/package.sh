#!/usr/bin/env bash
# azd prepackage hook (also runnable by hand): builds `chargeback` in release for x86_64-unknown-linux-musl
# (static, rustls, no OpenSSL) and stages the Functions package azd zips and deploys:
#   <dist>/host.json
#   <dist>/ChargebackEventHubTrigger/function.json
#   <dist>/chargeback            (mode 0755)
#   <dist>/prices/*.json         (every price sheet of prices/; the app setting CHARGEBACK_PRICE_SHEET is
#                                 prices/$CHARGEBACK_PRICE_SHEET_FILE)
# Env: CHARGEBACK_PACKAGE_DIR (default <repo>/dist/package, must match `dist` in azure.yaml),
#      CARGO_TARGET_DIR (default <repo>/target),
#      CHARGEBACK_PRICE_SHEET_FILE (default azure-openai-usd.json, the priceSheetFile parameter's default).
# Linux needs musl-tools (musl-gcc) for the C parts of ring; on macOS, install cargo-zigbuild and zig.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="x86_64-unknown-linux-musl"
out="${CHARGEBACK_PACKAGE_DIR:-$root/dist/package}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

command -v cargo >/dev/null 2>&1 || {
  echo "package: cargo not found; install Rust from https://rustup.rs" >&2
  exit 1
}
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$target"; then
    echo "package: rustup target add $target"
    rustup target add "$target"
  fi
fi

build=(cargo build)
if [ "$(uname -s)" = "Linux" ]; then
  if command -v musl-gcc >/dev/null 2>&1; then
    export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-musl-gcc}"
  else
    echo "package: musl-gcc not found; install musl-tools (apt-get install musl-tools) if the build fails" >&2
  fi
elif command -v cargo-zigbuild >/dev/null 2>&1; then
  build=(cargo zigbuild)
else
  echo "package: cross-compiling to $target from $(uname -s) needs cargo-zigbuild (cargo install cargo-zigbuild) and zig" >&2
  exit 1
fi

# --no-default-features: the handler never reads blobs, so the package leaves out the blob
# sources (feature `blob`: the Azure SDK clients of `report`/`replay` over container URLs).
echo "package: ${build[*]} --release --no-default-features --target $target --bin chargeback"
"${build[@]}" --release --no-default-features --target "$target" --bin chargeback --manifest-path "$root/Cargo.toml"

binary="$target_dir/$target/release/chargeback"
[ -f "$binary" ] || {
  echo "package: $binary was not built" >&2
  exit 1
}

rm -rf "$out"
mkdir -p "$out/ChargebackEventHubTrigger"
cp "$root/host.json" "$out/host.json"
cp "$root/ChargebackEventHubTrigger/function.json" "$out/ChargebackEventHubTrigger/function.json"
install -m 0755 "$binary" "$out/chargeback"

# The price sheet the app setting names. If the configured file is missing but the older sheet is there,
# the older one is staged under the configured name too, so CHARGEBACK_PRICE_SHEET always resolves.
sheet="${CHARGEBACK_PRICE_SHEET_FILE:-azure-openai-usd.json}"
legacy="azure-openai-global-standard-usd.json"
shopt -s nullglob
sheets=("$root"/prices/*.json)
shopt -u nullglob
[ "${#sheets[@]}" -gt 0 ] || {
  echo "package: no price sheet in $root/prices" >&2
  exit 1
}
mkdir -p "$out/prices"
cp "${sheets[@]}" "$out/prices/"
if [ ! -f "$out/prices/$sheet" ]; then
  if [ -f "$out/prices/$legacy" ]; then
    echo "package: prices/$sheet not found; staging prices/$legacy as prices/$sheet"
    cp "$out/prices/$legacy" "$out/prices/$sheet"
  else
    echo "package: prices/$sheet not found; set CHARGEBACK_PRICE_SHEET_FILE to one of: $(cd "$root/prices" && echo ./*.json)" >&2
    exit 1
  fi
fi

echo "package: staged $out"
(cd "$out" && find . -type f | sort)
