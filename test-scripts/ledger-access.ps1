#Requires -Version 7.0
<#
.SYNOPSIS
Reads the ledger from a laptop: opens the private storage account to this machine's public address only,
downloads the ledger container (or keeps the opening for -Minutes, at most 60), and closes it again in a
finally block. PowerShell form of ledger-access.sh. With Event Hubs Capture (EVENTHUB_CAPTURE_ENABLED=true)
closing removes this address only and leaves public access Enabled with default action Deny and the
trusted-service bypass, the state Capture needs (docs/deploy.md).

.EXAMPLE
./test-scripts/ledger-access.ps1 -Download ./ledger -Month 2026-12
#>
param([string]$Download, [string]$Month, [int]$Minutes = 0)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot '..' 'infra' 'hooks' 'common.ps1')

if (-not $Download -and $Minutes -eq 0) { throw 'give -Download DIR or -Minutes N' }
if ($Minutes -lt 0 -or $Minutes -gt 60) { throw '-Minutes must be between 1 and 60' }
if ($Month -and $Month -notmatch '^\d{4}-[01]\d$') { throw '-Month takes YYYY-MM' }
$account = Get-EnvValue 'STORAGE_ACCOUNT_NAME'
$rg = Get-EnvValue 'AZURE_RESOURCE_GROUP'
$container = Get-EnvValue 'LEDGER_CONTAINER'
if (-not $container) { $container = 'chargeback-ledger' }
$capture = (Get-EnvValue 'EVENTHUB_CAPTURE_ENABLED') -eq 'true'
if (-not $account -or -not $rg) { throw 'STORAGE_ACCOUNT_NAME / AZURE_RESOURCE_GROUP not set (run azd up first)' }
$ip = Get-PublicIp

try {
    # The default action stays Deny: with public access on, only this address is let in.
    Invoke-Az storage account network-rule add -g $rg --account-name $account --ip-address $ip -o none
    Invoke-Az storage account update -g $rg -n $account --public-network-access Enabled --default-action Deny -o none
    Write-Host "ledger-access: $account accepts $ip only (network rules can take a minute to apply)"
    if ($Download) {
        New-Item -ItemType Directory -Force -Path $Download | Out-Null
        $pattern = if ($Month) { "usage-$Month-*" } else { 'usage-*' }
        Invoke-Az storage blob download-batch --auth-mode login --account-name $account --source $container --destination $Download --pattern $pattern -o none
        Write-Host "ledger-access: downloaded $container/$pattern to $Download; now: chargeback report $Download/*.jsonl"
    } else {
        Write-Host "ledger-access: open for $Minutes minute(s); Ctrl-C closes it earlier"
        Start-Sleep -Seconds ($Minutes * 60)
    }
} finally {
    Write-Host "ledger-access: closing $account to $ip"
    if ($capture) {
        Invoke-Az storage account network-rule remove -g $rg --account-name $account --ip-address $ip -o none
        Write-Host "ledger-access: $account admits no address again (default Deny; only the Capture trusted-service exception)"
    } else {
        & az storage account network-rule remove -g $rg --account-name $account --ip-address $ip -o none
        Invoke-Az storage account update -g $rg -n $account --public-network-access Disabled -o none
        Write-Host "ledger-access: $account is private again"
    }
}
