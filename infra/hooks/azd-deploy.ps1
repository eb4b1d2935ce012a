#Requires -Version 7.0
<#
.SYNOPSIS
`azd deploy` (or `azd up` with -Up) with the SCM opening closed in a finally block, so a failed or
interrupted deploy never leaves it open (azd skips postdeploy hooks when a step fails).
#>
param([switch]$Up, [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = 'Stop'
$code = 1
try {
    if ($Up) { & azd up @Rest } else { & azd deploy @Rest }
    $code = $LASTEXITCODE
} finally {
    & (Join-Path $PSScriptRoot 'scm-access.ps1') -Mode close
}
exit $code
