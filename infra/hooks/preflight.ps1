#Requires -Version 7.0
<#
.SYNOPSIS
Checks, before `azd up`, what would otherwise fail minutes into it, and prints the command that fixes each
problem. PowerShell form of preflight.sh (same checks, same order); also the `preup` hook on Windows.
#>
$ErrorActionPreference = 'Continue'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'common.ps1')

$script:failures = 0
function Ok([string]$m) { Write-Host "preflight: ok    $m" }
function Warn([string]$m) { Write-Host "preflight: warn  $m" }
function Fail([string]$m, [string]$fix) {
    Write-Host "preflight: FAIL  $m"
    Write-Host "preflight:       fix: $fix"
    $script:failures++
}

function Test-Azd {
    if (-not (Get-Command azd -ErrorAction SilentlyContinue)) { Fail 'azd is not installed' 'install the Azure Developer CLI: https://aka.ms/azd-install'; return }
    $text = (& azd version 2>$null) -join ' '
    $m = [regex]::Match($text, '\d+\.\d+\.\d+')
    if (-not $m.Success -or [version]$m.Value -lt [version]'1.20.0') { Fail "azd $($m.Value) is older than 1.20.0 (language: custom)" 'update azd: https://aka.ms/azd-install' }
    else { Ok "azd $($m.Value)" }
    # As azd decides (pkg/alpha): the environment variable wins when it parses as a bool, else alpha.all or
    # alpha.language.custom in azd's config.
    $flag = $env:AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM
    $enabled = $null
    if ($flag -in @('1', 't', 'T', 'true', 'TRUE', 'True')) { $enabled = $true }
    elseif ($flag -in @('0', 'f', 'F', 'false', 'FALSE', 'False')) { $enabled = $false }
    if ($null -eq $enabled) {
        $all = ((& azd config get alpha.all 2>$null) -join '').Trim().Trim('"')
        $config = ((& azd config get alpha.language.custom 2>$null) -join '').Trim().Trim('"')
        $enabled = ($all -eq 'on' -or $config -eq 'on')
    }
    if ($enabled) { Ok 'azd alpha feature language.custom is on' }
    else { Fail "azd alpha feature language.custom is off: azd refuses azure.yaml's 'language: custom' before any hook runs" 'azd config set alpha.language.custom on' }
    & azd auth login --check-status *> $null
    if ($LASTEXITCODE -eq 0) { Ok 'azd is logged in' } else { Fail 'azd is not logged in' 'azd auth login' }
}

function Test-Az {
    if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail 'az is not installed (the hooks and test scripts use it)' 'install the Azure CLI: https://aka.ms/azcli'; return $false }
    $current = (& az account show --query id -o tsv 2>$null)
    if ($LASTEXITCODE -ne 0 -or -not $current) { Fail 'az is not logged in' 'az login'; return $false }
    $wanted = Get-EnvValue 'AZURE_SUBSCRIPTION_ID'
    if ($wanted -and $wanted -ne $current) { Fail "az uses subscription $current, the azd environment $wanted" "az account set --subscription $wanted"; return $false }
    Ok "az is logged in (subscription $current)"
    return $true
}

function Test-Providers {
    foreach ($ns in 'Microsoft.App', 'Microsoft.ApiManagement', 'Microsoft.CognitiveServices', 'Microsoft.EventHub', 'Microsoft.Web',
        'Microsoft.Storage', 'Microsoft.Network', 'Microsoft.OperationalInsights', 'Microsoft.Insights', 'Microsoft.ManagedIdentity') {
        $state = (& az provider show --namespace $ns --query registrationState -o tsv 2>$null)
        if ($state -eq 'Registered') { Ok "provider $ns registered" }
        else { Fail "provider $ns is $(if ($state) { $state } else { 'not registered' })" "az provider register --namespace $ns --wait" }
    }
}

function Get-Deployments {
    $json = Get-EnvValue 'OPENAI_DEPLOYMENTS'
    if (-not $json) {
        return @(
            [pscustomobject]@{ model = [pscustomobject]@{ name = 'gpt-4o'; version = '2024-11-20' }; sku = [pscustomobject]@{ name = 'GlobalStandard'; capacity = 30 } },
            [pscustomobject]@{ model = [pscustomobject]@{ name = 'text-embedding-3-small'; version = '1' }; sku = [pscustomobject]@{ name = 'Standard'; capacity = 30 } })
    }
    return $json | ConvertFrom-Json
}

function Test-Region {
    $location = Get-EnvValue 'AZURE_LOCATION'
    if (-not $location) { Warn 'AZURE_LOCATION is not set yet: region checks skipped (azd env set AZURE_LOCATION <region>, then run again)'; return }
    $flex = (& az functionapp list-flexconsumption-locations --query "[?name=='$location'].name" -o tsv 2>$null)
    if ($flex) { Ok "Flex Consumption is offered in $location" }
    else { Fail "Flex Consumption is not offered in $location" 'pick a region from: az functionapp list-flexconsumption-locations -o table' }
    foreach ($d in Get-Deployments) {
        $model = $d.model.name; $version = $d.model.version; $sku = $d.sku.name; $capacity = [int]$d.sku.capacity
        $available = (& az cognitiveservices model list -l $location --query "[?model.name=='$model' && model.version=='$version'] | length(@)" -o tsv 2>$null)
        if (-not $available) { Warn "az cannot tell whether $model $version is offered in $location" }
        elseif ($available -eq '0') { Fail "$model $version is not offered in $location" "choose another region or model (az cognitiveservices model list -l $location -o table)" }
        $usage = (& az cognitiveservices usage list -l $location --query "[?name.value=='OpenAI.$sku.$model'] | [0].[currentValue, limit]" -o tsv 2>$null)
        if (-not $usage) { Warn "az cannot tell the $sku quota of $model in $location"; continue }
        $parts = ($usage -join ' ') -split '\s+'
        $free = [int][double]$parts[1] - [int][double]$parts[0]
        if ($free -lt $capacity) { Fail "$model $sku needs ${capacity}K TPM in $location, ${free}K free" 'request quota (https://aka.ms/oai/stuquotarequest) or lower the capacity in OPENAI_DEPLOYMENTS' }
        else { Ok "$model ${sku}: ${capacity}K TPM of ${free}K free in $location" }
    }
}

function Test-BuildTools {
    if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) { Fail 'cargo is not installed (the package hook builds the handler)' 'install Rust from https://rustup.rs'; return }
    Ok 'cargo'
    if ($IsLinux) {
        if (Get-Command musl-gcc -ErrorAction SilentlyContinue) { Ok 'musl-gcc' } else { Fail 'musl-gcc is missing (C parts of ring for the musl target)' 'sudo apt-get install musl-tools' }
    } elseif (-not (Get-Command cargo-zigbuild -ErrorAction SilentlyContinue)) {
        Fail 'cargo-zigbuild is missing (cross-compiling to Linux musl)' 'cargo install cargo-zigbuild (and install zig), or run azd from WSL'
    }
}

Test-Azd
if (Test-Az) { Test-Providers; Test-Region }
Test-BuildTools
if ($script:failures -gt 0) {
    Write-Host "preflight: $($script:failures) check(s) failed; fix them and run ./infra/hooks/preflight.ps1 again"
    exit 1
}
# A deploy that failed earlier skipped its postdeploy hook: close what it opened before anything else.
& (Join-Path $PSScriptRoot 'scm-access.ps1') -Mode close
if (-not $?) { exit 1 }
Write-Host 'preflight: all checks passed'
