#Requires -Version 7.0
<#
.SYNOPSIS
Chat completion through the APIM gateway. ./testchatcompletions.ps1 [-Stream]
Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_CHAT_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or fetched with az.
#>
param([switch]$Stream)
. (Join-Path $PSScriptRoot 'common.ps1')

Import-AzdEnvironment
$deployment = Get-Setting 'AZURE_OPENAI_CHAT_DEPLOYMENT' 'chat'
$apiVersion = Get-Setting 'AZURE_OPENAI_API_VERSION' '2024-10-21'
$prompt = Get-Setting 'PROMPT' 'Write one sentence about chargeback.'
$key = Get-SubscriptionKey

$body = @{
    messages   = @(
        @{ role = 'system'; content = 'You are a helpful assistant.' },
        @{ role = 'user'; content = $prompt }
    )
    max_tokens = 100
    stream     = [bool]$Stream
}
$content = Invoke-Gateway -PathAndQuery "/openai/deployments/$deployment/chat/completions?api-version=$apiVersion" -Body $body -Key $key
# Streamed chat: the gateway policy adds stream_options.include_usage, so a usage chunk is expected.
$usage = Get-Usage -Content $content -Stream ([bool]$Stream)
if ($null -eq $usage) { Write-Error 'no usage in the response'; exit 1 }
Write-Usage $usage
