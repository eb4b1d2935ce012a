# Shared by the test scripts (dot-sourced, not run). Reads the gateway settings from the environment or from
# `azd env get-values`, fetches the APIM subscription key with `az` at run time (kept in memory only, never
# written to disk), sends the request and prints the response and the usage. Needs PowerShell 7+.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$script:ChargebackEnvKeys = @(
    'APIM_GATEWAY_URL', 'APIM_NAME', 'APIM_SUBSCRIPTION_NAME', 'AZURE_RESOURCE_GROUP', 'AZURE_SUBSCRIPTION_ID',
    'AZURE_OPENAI_CHAT_DEPLOYMENT', 'AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT', 'AZURE_OPENAI_COMPLETIONS_DEPLOYMENT'
)

function Get-Setting {
    param([string]$Name, [string]$Default = '')
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value)) { return $Default }
    return $value
}

# Fill unset variables from `azd env get-values` (KEY="value" lines). Only known keys are read; the
# output is parsed, never evaluated.
function Import-AzdEnvironment {
    $missing = @($script:ChargebackEnvKeys | Where-Object { [string]::IsNullOrEmpty([Environment]::GetEnvironmentVariable($_)) })
    if ($missing.Count -eq 0) { return }
    if (-not (Get-Command azd -ErrorAction SilentlyContinue)) { return }
    $lines = & azd env get-values 2>$null
    if ($LASTEXITCODE -ne 0) { return }
    foreach ($line in $lines) {
        if ($line -match '^([A-Za-z_][A-Za-z0-9_]*)="?(.*?)"?$') {
            $name = $Matches[1]
            $value = $Matches[2]
            if (($script:ChargebackEnvKeys -contains $name) -and [string]::IsNullOrEmpty([Environment]::GetEnvironmentVariable($name))) {
                [Environment]::SetEnvironmentVariable($name, $value, 'Process')
            }
        }
    }
}

# APIM_SUBSCRIPTION_KEY wins; otherwise `az rest` reads the subscription's primary key from the management plane.
function Get-SubscriptionKey {
    $key = Get-Setting 'APIM_SUBSCRIPTION_KEY'
    if ($key) { return $key }
    if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
        throw 'APIM_SUBSCRIPTION_KEY is not set and the Azure CLI (az) is not installed'
    }
    $sub = Get-Setting 'AZURE_SUBSCRIPTION_ID'
    if (-not $sub) {
        $sub = & az account show --query id -o tsv
        if ($LASTEXITCODE -ne 0) { throw 'az account show failed (run az login)' }
    }
    $rg = Get-Setting 'AZURE_RESOURCE_GROUP'
    $apim = Get-Setting 'APIM_NAME'
    if (-not $rg -or -not $apim) { throw 'AZURE_RESOURCE_GROUP and APIM_NAME must be set (run azd up, or set them)' }
    $name = Get-Setting 'APIM_SUBSCRIPTION_NAME' 'chargeback-demo'
    $uri = "https://management.azure.com/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.ApiManagement/service/$apim/subscriptions/$name/listSecrets?api-version=2024-05-01"
    $key = & az rest --method post --uri $uri --query primaryKey -o tsv
    if ($LASTEXITCODE -ne 0 -or -not $key) { throw 'could not read the APIM subscription key with az' }
    return $key.Trim()
}

# POSTs the body to the gateway, prints status and response, returns the response text; throws on non-2xx.
function Invoke-Gateway {
    param([string]$PathAndQuery, [hashtable]$Body, [string]$Key)
    $gateway = Get-Setting 'APIM_GATEWAY_URL'
    if (-not $gateway) { throw 'APIM_GATEWAY_URL is not set (run azd up, or set it)' }
    $uri = $gateway.TrimEnd('/') + $PathAndQuery
    $json = $Body | ConvertTo-Json -Depth 10 -Compress
    Write-Host "POST $uri"
    $response = Invoke-WebRequest -Method Post -Uri $uri -Headers @{ 'api-key' = $Key } `
        -ContentType 'application/json' -Body $json -SkipHttpErrorCheck
    $content = $response.Content
    if ($content -is [byte[]]) { $content = [System.Text.Encoding]::UTF8.GetString($content) }
    Write-Host "HTTP $($response.StatusCode)"
    Write-Host $content
    if ($response.StatusCode -lt 200 -or $response.StatusCode -ge 300) {
        throw "the gateway answered HTTP $($response.StatusCode)"
    }
    return $content
}

# The usage of a JSON response, or of the last SSE event that carries one (also inside "response" for
# Responses API events); $null when there is none.
function Get-Usage {
    param([string]$Content, [bool]$Stream)
    $usage = $null
    $documents = if ($Stream) {
        $Content -split "`n" | ForEach-Object { $_.TrimEnd("`r") } | Where-Object { $_.StartsWith('data:') } |
            ForEach-Object { $_.Substring(5).Trim() } | Where-Object { $_ -and $_ -ne '[DONE]' }
    } else {
        @($Content)
    }
    foreach ($doc in $documents) {
        try { $parsed = $doc | ConvertFrom-Json } catch { continue }
        if ($parsed -isnot [psobject]) { continue }
        $names = $parsed.PSObject.Properties.Name
        if (($names -contains 'usage') -and $null -ne $parsed.usage) {
            $usage = $parsed.usage
        } elseif (($names -contains 'response') -and $null -ne $parsed.response -and
            ($parsed.response.PSObject.Properties.Name -contains 'usage') -and $null -ne $parsed.response.usage) {
            $usage = $parsed.response.usage
        }
    }
    return $usage
}

function Write-Usage {
    param($Usage)
    Write-Host ('usage: ' + ($Usage | ConvertTo-Json -Depth 5 -Compress))
}
