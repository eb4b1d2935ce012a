#Requires -Version 7.0
<#
.SYNOPSIS
Onboards a consumer team: creates an APIM subscription for it on the `chargeback` product and prints where
its key is. The key itself is never printed, stored or put on a command line. PowerShell form of
onboard-consumer.sh.

.EXAMPLE
./test-scripts/onboard-consumer.ps1 -Team finance-bot -DisplayName 'Finance bot'
#>
param([Parameter(Mandatory = $true)][string]$Team, [string]$DisplayName)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot '..' 'infra' 'hooks' 'common.ps1')

if ($Team -notmatch '^[A-Za-z0-9-]+$') { throw '-Team takes letters, digits and hyphens (it becomes the subscription id)' }
if (-not $DisplayName) { $DisplayName = $Team }
$apim = Get-EnvValue 'APIM_NAME'
$rg = Get-EnvValue 'AZURE_RESOURCE_GROUP'
$sub = Get-EnvValue 'AZURE_SUBSCRIPTION_ID'
if (-not $apim -or -not $rg) { throw 'APIM_NAME / AZURE_RESOURCE_GROUP not set (run azd up first)' }
if (-not $sub) { $sub = Invoke-Az account show --query id -o tsv }

$base = "https://management.azure.com/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.ApiManagement/service/$apim"
$api = 'api-version=2024-05-01'
$body = @{ properties = @{ displayName = $DisplayName; scope = '/products/chargeback'; state = 'active'; allowTracing = $false } } | ConvertTo-Json -Compress
# The answer of a PUT carries no key (keys come only from listSecrets); print only name and state.
Invoke-Az rest --method put --uri "$base/subscriptions/$Team`?$api" --body $body --query '{name: name, state: properties.state, scope: properties.scope}' -o tsv
Write-Host "onboard-consumer: subscription '$Team' is active on the product chargeback."
Write-Host "onboard-consumer: its key is in the Azure portal: API Management $apim > Subscriptions > $Team > Show keys,"
Write-Host "onboard-consumer: or for the team's secret store: az rest --method post --uri `"$base/subscriptions/$Team/listSecrets?$api`" --query primaryKey -o tsv"
Write-Host "onboard-consumer: usage shows up under consumer '$Team' in the ledger, customEvents and the workbook."
