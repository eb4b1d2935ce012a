#Requires -Version 7.0
<#
.SYNOPSIS
Text completion through the APIM gateway. ./testcompletions.ps1 [-Stream]
Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_COMPLETIONS_DEPLOYMENT (a completions model such as
gpt-35-turbo-instruct); key: APIM_SUBSCRIPTION_KEY or fetched with az.
#>
param([switch]$Stream)
. (Join-Path $PSScriptRoot 'common.ps1')

Import-AzdEnvironment
$deployment = Get-Setting 'AZURE_OPENAI_COMPLETIONS_DEPLOYMENT' 'completions'
$apiVersion = Get-Setting 'AZURE_OPENAI_API_VERSION' '2024-10-21'
$prompt = Get-Setting 'PROMPT' 'Chargeback means'
$key = Get-SubscriptionKey

$body = @{ prompt = $prompt; max_tokens = 50; stream = [bool]$Stream }
$content = Invoke-Gateway -PathAndQuery "/openai/deployments/$deployment/completions?api-version=$apiVersion" -Body $body -Key $key
$usage = Get-Usage -Content $content -Stream ([bool]$Stream)
if ($null -ne $usage) {
    Write-Usage $usage
} elseif ($Stream) {
    # Streamed completions carry no usage chunk; the chargeback handler counts the tokens itself.
    Write-Host 'usage: not in the stream (the chargeback handler counts the tokens with the model tokenizer)'
} else {
    Write-Error 'no usage in the response'
    exit 1
}
