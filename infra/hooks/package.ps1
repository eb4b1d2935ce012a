#Requires -Version 7.0
<#
.SYNOPSIS
azd prepackage hook (PowerShell form): builds `chargeback` in release for x86_64-unknown-linux-musl and stages
the Functions package (host.json, ChargebackEventHubTrigger/function.json, chargeback) in dist/package.

.DESCRIPTION
On Linux (including WSL) it runs cargo build with musl-gcc as the C compiler for the musl target. On Windows
and macOS it needs cargo-zigbuild and zig to cross-compile. Windows file systems have no execute bit, so a
package staged on Windows may lose it; build from WSL or Linux when possible (the bash hook is used there).
Env: CHARGEBACK_PACKAGE_DIR (default <repo>/dist/package), CARGO_TARGET_DIR (default <repo>/target),
CHARGEBACK_PRICE_SHEET_FILE (default azure-openai-usd.json). Every prices/*.json is staged in prices/; if the
configured sheet is missing but the older azure-openai-global-standard-usd.json exists, that one is staged
under the configured name, so the app setting CHARGEBACK_PRICE_SHEET always resolves.
#>
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
$target = 'x86_64-unknown-linux-musl'
$out = if ($env:CHARGEBACK_PACKAGE_DIR) { $env:CHARGEBACK_PACKAGE_DIR } else { Join-Path $root 'dist' 'package' }
$targetDir = if ($env:CARGO_TARGET_DIR) { $env:CARGO_TARGET_DIR } else { Join-Path $root 'target' }

if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
    throw 'cargo not found; install Rust from https://rustup.rs'
}
if (Get-Command rustup -ErrorAction SilentlyContinue) {
    $installed = & rustup target list --installed
    if ($installed -notcontains $target) {
        Write-Host "package: rustup target add $target"
        & rustup target add $target
        if ($LASTEXITCODE -ne 0) { throw "rustup target add $target failed" }
    }
}

$buildArgs = @('build')
if ($IsLinux) {
    if (Get-Command musl-gcc -ErrorAction SilentlyContinue) {
        if (-not $env:CC_x86_64_unknown_linux_musl) { $env:CC_x86_64_unknown_linux_musl = 'musl-gcc' }
    } else {
        Write-Warning 'musl-gcc not found; install musl-tools if the build fails'
    }
} elseif (Get-Command cargo-zigbuild -ErrorAction SilentlyContinue) {
    $buildArgs = @('zigbuild')
} else {
    throw "cross-compiling to $target needs cargo-zigbuild (cargo install cargo-zigbuild) and zig, or run the hook in WSL"
}

$manifest = Join-Path $root 'Cargo.toml'
# --no-default-features: the handler never reads blobs, so the package leaves out the blob sources.
Write-Host "package: cargo $($buildArgs -join ' ') --release --no-default-features --target $target --bin chargeback"
& cargo @buildArgs --release --no-default-features --target $target --bin chargeback --manifest-path $manifest
if ($LASTEXITCODE -ne 0) { throw 'cargo build failed' }

$binary = Join-Path $targetDir $target 'release' 'chargeback'
if (-not (Test-Path $binary)) { throw "$binary was not built" }

if (Test-Path $out) { Remove-Item -Recurse -Force $out }
$functionDir = Join-Path $out 'ChargebackEventHubTrigger'
New-Item -ItemType Directory -Force -Path $functionDir | Out-Null
Copy-Item (Join-Path $root 'host.json') (Join-Path $out 'host.json')
Copy-Item (Join-Path $root 'ChargebackEventHubTrigger' 'function.json') (Join-Path $functionDir 'function.json')
$staged = Join-Path $out 'chargeback'
Copy-Item $binary $staged
if (-not $IsWindows) {
    & chmod 0755 $staged
    if ($LASTEXITCODE -ne 0) { throw "chmod failed on $staged" }
} else {
    Write-Warning 'staged on Windows: the zip may not carry the execute bit of chargeback; prefer WSL'
}

$sheet = if ($env:CHARGEBACK_PRICE_SHEET_FILE) { $env:CHARGEBACK_PRICE_SHEET_FILE } else { 'azure-openai-usd.json' }
$legacy = 'azure-openai-global-standard-usd.json'
$sheets = @(Get-ChildItem -File -Path (Join-Path $root 'prices') -Filter '*.json')
if ($sheets.Count -eq 0) { throw "no price sheet in $(Join-Path $root 'prices')" }
$pricesOut = Join-Path $out 'prices'
New-Item -ItemType Directory -Force -Path $pricesOut | Out-Null
foreach ($file in $sheets) { Copy-Item $file.FullName (Join-Path $pricesOut $file.Name) }
if (-not (Test-Path (Join-Path $pricesOut $sheet))) {
    if (Test-Path (Join-Path $pricesOut $legacy)) {
        Write-Host "package: prices/$sheet not found; staging prices/$legacy as prices/$sheet"
        Copy-Item (Join-Path $pricesOut $legacy) (Join-Path $pricesOut $sheet)
    } else {
        throw "prices/$sheet not found; set CHARGEBACK_PRICE_SHEET_FILE to one of: $($sheets.Name -join ', ')"
    }
}

Write-Host "package: staged $out"
Get-ChildItem -Recurse -File $out | ForEach-Object { $_.FullName.Substring($out.Length) }
