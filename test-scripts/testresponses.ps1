#Requires -Version 7.0
<#
.SYNOPSIS
Responses API through the APIM gateway. ./testresponses.ps1 [-Stream]
Default route /openai/v1/responses (no api-version); set AZURE_OPENAI_RESPONSES_API_VERSION (for example
2025-04-01-preview) for the dated route /openai/responses?api-version=...
Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_CHAT_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or az.
#>
param([switch]$Stream)
. (Join-Path $PSScriptRoot 'common.ps1')

Import-AzdEnvironment
$deployment = Get-Setting 'AZURE_OPENAI_CHAT_DEPLOYMENT' 'chat'
$prompt = Get-Setting 'PROMPT' 'Write one sentence about chargeback.'
$responsesVersion = Get-Setting 'AZURE_OPENAI_RESPONSES_API_VERSION'
$key = Get-SubscriptionKey

$route = if ($responsesVersion) { "/openai/responses?api-version=$responsesVersion" } else { '/openai/v1/responses' }
$body = @{ model = $deployment; input = $prompt; max_output_tokens = 100; stream = [bool]$Stream }
$content = Invoke-Gateway -PathAndQuery $route -Body $body -Key $key
# Streams end with a response.completed event that carries the usage.
$usage = Get-Usage -Content $content -Stream ([bool]$Stream)
if ($null -eq $usage) { Write-Error 'no usage in the response'; exit 1 }
Write-Usage $usage
