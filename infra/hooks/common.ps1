# Shared by the azd hooks and the operator scripts (dot-sourced, not run). azd passes its environment to
# hooks as variables; run by hand, a missing value is read with `azd env get-value`.

function Get-EnvValue([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if (-not $value -and (Get-Command azd -ErrorAction SilentlyContinue)) {
        $value = (& azd env get-value $Name 2>$null) -join ''
        if ($LASTEXITCODE -ne 0 -or $value -like 'ERROR*') { $value = '' }
    }
    return $value
}

# This machine's public IPv4 address as Azure sees it: DEPLOYER_IP, else ipify.
function Get-PublicIp {
    $ip = $env:DEPLOYER_IP
    if (-not $ip) { $ip = (Invoke-RestMethod -Uri 'https://api.ipify.org' -TimeoutSec 10).ToString().Trim() }
    if ($ip -notmatch '^[0-9]{1,3}(\.[0-9]{1,3}){3}$') { throw "'$ip' is not an IPv4 address (set DEPLOYER_IP)" }
    return $ip
}

# .azure/<env>, where the markers of open openings are kept.
function Get-StateDir {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
    $envName = Get-EnvValue 'AZURE_ENV_NAME'
    if (-not $envName) { $envName = 'default' }
    return Join-Path $root '.azure' $envName
}

function Invoke-Az {
    & az @args
    if ($LASTEXITCODE -ne 0) { throw "az $($args -join ' ') failed" }
}
