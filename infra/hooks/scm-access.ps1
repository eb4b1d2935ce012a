#Requires -Version 7.0
<#
.SYNOPSIS
Opens (predeploy) and closes (postdeploy, and the first hook of the next run) the Function App's SCM site
for a deploy from outside the VNet. PowerShell form of scm-access.sh; see that file for the design.

.DESCRIPTION
open : closes any leftover opening, then allows only this machine's public address (/32) on the SCM site
       (never the main site) and turns public network access on.
close: removes the rule, turns public network access off and checks it is off.
With DEPLOY_FROM_VNET=true nothing is opened or changed. azd skips post-hooks when a step fails: the next
azd command's first hook closes the opening, or run this script with `close`, or deploy with azd-deploy.ps1.
#>
param([Parameter(Mandatory = $true)][ValidateSet('open', 'close')][string]$Mode)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'common.ps1')

$rule = 'azd-deploy'
if ((Get-EnvValue 'DEPLOY_FROM_VNET') -eq 'true') {
    Write-Host "scm-access: DEPLOY_FROM_VNET=true: deploying from inside the VNet, nothing to $Mode"
    exit 0
}
$app = Get-EnvValue 'FUNCTION_APP_NAME'
$rg = Get-EnvValue 'AZURE_RESOURCE_GROUP'
if (-not $app -or -not $rg) {
    if ($Mode -eq 'close') { Write-Host 'scm-access: no Function App provisioned yet, nothing to close'; exit 0 }
    throw 'FUNCTION_APP_NAME / AZURE_RESOURCE_GROUP are not set: run azd provision first'
}
$marker = Join-Path (Get-StateDir) 'scm-opening'

function Close-Opening {
    if (Test-Path $marker) { Write-Host "scm-access: closing the SCM opening recorded in $marker ($(Get-Content -Raw $marker))" }
    $rules = Invoke-Az functionapp config access-restriction show -g $rg -n $app --query "scmIpSecurityRestrictions[?name=='$rule'].name" -o tsv
    if ($rules) {
        Write-Host "scm-access: removing the SCM rule $rule of $app"
        Invoke-Az functionapp config access-restriction remove -g $rg -n $app --rule-name $rule --scm-site true -o none
    }
    $now = Invoke-Az resource show -g $rg -n $app --resource-type Microsoft.Web/sites --query properties.publicNetworkAccess -o tsv
    if ($now -ne 'Disabled') {
        Invoke-Az resource update -g $rg -n $app --resource-type Microsoft.Web/sites --set properties.publicNetworkAccess=Disabled -o none
        $now = Invoke-Az resource show -g $rg -n $app --resource-type Microsoft.Web/sites --query properties.publicNetworkAccess -o tsv
        if ($now -ne 'Disabled') { throw "$app still reports publicNetworkAccess=$now" }
    }
    Remove-Item -Force -ErrorAction SilentlyContinue $marker
    Write-Host "scm-access: $app is private again (publicNetworkAccess Disabled, no SCM rule)"
}

function Open-Opening {
    Close-Opening
    $ip = Get-PublicIp
    New-Item -ItemType Directory -Force -Path (Split-Path $marker) | Out-Null
    # Written before the opening, so that even an interrupted open is found and closed by the next run.
    Set-Content -Path $marker -Value "opened $((Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')) for $ip/32"
    Invoke-Az functionapp config access-restriction add -g $rg -n $app --rule-name $rule --action Allow --ip-address "$ip/32" --priority 100 --scm-site true -o none
    Invoke-Az resource update -g $rg -n $app --resource-type Microsoft.Web/sites --set properties.publicNetworkAccess=Enabled -o none
    Write-Host "scm-access: the SCM site of $app accepts $ip/32 for this deploy (main site: Deny); postdeploy closes it."
    Write-Host 'scm-access: if the deploy fails, azd skips postdeploy: the next azd up/deploy closes it first, or run infra/hooks/scm-access.ps1 close.'
}

if ($Mode -eq 'open') { Open-Opening } else { Close-Opening }
