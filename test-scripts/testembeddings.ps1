#Requires -Version 7.0
<#
.SYNOPSIS
Embeddings through the APIM gateway. ./testembeddings.ps1 [-Stream]
Embeddings never stream; -Stream sends "stream": true for symmetry with the other scripts.
Env (or azd env): APIM_GATEWAY_URL, AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT; key: APIM_SUBSCRIPTION_KEY or az.
#>
param([switch]$Stream)
. (Join-Path $PSScriptRoot 'common.ps1')

Import-AzdEnvironment
$deployment = Get-Setting 'AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT' 'embeddings'
$apiVersion = Get-Setting 'AZURE_OPENAI_API_VERSION' '2024-10-21'
$prompt = Get-Setting 'PROMPT' 'Chargeback for Azure OpenAI'
$key = Get-SubscriptionKey

$body = @{ input = $prompt }
if ($Stream) { $body.stream = $true }
$content = Invoke-Gateway -PathAndQuery "/openai/deployments/$deployment/embeddings?api-version=$apiVersion" -Body $body -Key $key
$usage = Get-Usage -Content $content -Stream $false
if ($null -eq $usage) { Write-Error 'no usage in the response'; exit 1 }
Write-Usage $usage
