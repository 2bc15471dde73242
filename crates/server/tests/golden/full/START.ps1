# Bot-Mox provisioning bootstrap, generated for one VM and launched at its first logon.
# Reads provision.json from the config CD, applies the static address, validates the
# provisioning token with the server, reports progress and runs the next-stage downloader
# when the server offers one. Log: C:\WindowsSetup\bootstrap.log (the token is never logged).
param([string]$ConfigPath = '')

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ExpectedVmUuid = '4c4c4544-0042-3510-8052-b4c04f4e4d32'
$InterfaceAlias = 'Ethernet'
$ValidateTokenPath = '/api/v1/provisioning/validate-token'
$ReportProgressPath = '/api/v1/provisioning/report-progress'
$SetupDir = 'C:\WindowsSetup'
$LogPath = Join-Path $SetupDir 'bootstrap.log'
$script:Config = $null
$script:ApiEndpoint = ''
$script:Step = 'windows_installed'

New-Item -ItemType Directory -Path $SetupDir -Force | Out-Null
# Windows PowerShell 5.1 may default to TLS 1.0/1.1.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

function Write-Log {
    param([string]$Message)
    $line = '{0} {1}' -f (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'), $Message
    Write-Host $line
    try { Add-Content -LiteralPath $LogPath -Value $line -Encoding UTF8 } catch { }
}

# provision.json: the given path, else the config CD, else any drive, else the first-logon copy.
function Find-ProvisionConfig {
    if ($ConfigPath) { return $ConfigPath }
    $roots = @()
    $roots += @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 5' -ErrorAction SilentlyContinue | ForEach-Object { $_.DeviceID + '\' })
    $roots += @(Get-PSDrive -PSProvider FileSystem -ErrorAction SilentlyContinue | ForEach-Object { $_.Root })
    $roots += $SetupDir
    foreach ($root in $roots) {
        $candidate = Join-Path $root 'provision.json'
        if (Test-Path -LiteralPath $candidate) { return $candidate }
    }
    return $null
}

# Prefix length from a dotted netmask ('255.255.254.0') or a prefix ('/23', '23'): counts the
# one bits and refuses masks whose ones are not contiguous.
function ConvertTo-PrefixLength {
    param([string]$Netmask)
    $mask = $Netmask.Trim()
    if ($mask.StartsWith('/')) { $mask = $mask.Substring(1) }
    if ($mask -match '^\d{1,2}$') {
        $prefix = [int]$mask
        if ($prefix -gt 32) { throw ('Prefix length out of range: {0}' -f $Netmask) }
        return $prefix
    }
    if ($mask -notmatch '^\d{1,3}(\.\d{1,3}){3}$') { throw ('Not a netmask: {0}' -f $Netmask) }
    $bits = ''
    foreach ($octet in $mask.Split('.')) {
        $value = [int]$octet
        if ($value -gt 255) { throw ('Not a netmask: {0}' -f $Netmask) }
        $bits += [Convert]::ToString($value, 2).PadLeft(8, '0')
    }
    if ($bits -notmatch '^1*0*$') { throw ('Netmask is not contiguous: {0}' -f $Netmask) }
    return $bits.Replace('0', '').Length
}

function Get-TargetAdapter {
    for ($i = 0; $i -lt 30; $i++) {
        if ($InterfaceAlias) {
            $adapter = Get-NetAdapter -Name $InterfaceAlias -ErrorAction SilentlyContinue | Where-Object { $_.Status -eq 'Up' } | Select-Object -First 1
        } else {
            $adapter = Get-NetAdapter -Physical -ErrorAction SilentlyContinue | Where-Object { $_.Status -eq 'Up' } | Sort-Object -Property ifIndex | Select-Object -First 1
        }
        if ($adapter) { return $adapter }
        Start-Sleep -Seconds 2
    }
    throw 'No connected network adapter found'
}

function Set-StaticAddress {
    param($Ip)
    $adapter = Get-TargetAdapter
    $index = $adapter.ifIndex
    if ($null -ne $Ip.prefix_length) { $prefix = [int]$Ip.prefix_length } else { $prefix = ConvertTo-PrefixLength ([string]$Ip.netmask) }
    $current = @(Get-NetIPAddress -InterfaceIndex $index -AddressFamily IPv4 -ErrorAction SilentlyContinue | Where-Object { $_.IPAddress -eq $Ip.address -and $_.PrefixLength -eq $prefix -and $_.PrefixOrigin -eq 'Manual' })
    if ($current.Count -gt 0) {
        Write-Log ('{0} already has {1}/{2}' -f $adapter.Name, $Ip.address, $prefix)
    } else {
        Write-Log ('Setting {0}/{1} via {2} on {3}' -f $Ip.address, $prefix, $Ip.gateway, $adapter.Name)
        Set-NetIPInterface -InterfaceIndex $index -AddressFamily IPv4 -Dhcp Disabled -ErrorAction SilentlyContinue
        Get-NetIPAddress -InterfaceIndex $index -AddressFamily IPv4 -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false -ErrorAction SilentlyContinue
        Get-NetRoute -InterfaceIndex $index -AddressFamily IPv4 -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false -ErrorAction SilentlyContinue
        New-NetIPAddress -InterfaceIndex $index -AddressFamily IPv4 -IPAddress $Ip.address -PrefixLength $prefix -DefaultGateway $Ip.gateway | Out-Null
    }
    $dns = @($Ip.dns | Where-Object { $_ })
    if ($dns.Count -gt 0) {
        Set-DnsClientServerAddress -InterfaceIndex $index -ServerAddresses $dns
        Write-Log ('DNS servers: {0}' -f ($dns -join ', '))
    }
}

function Get-HttpStatus {
    param($ErrorRecord)
    $response = $ErrorRecord.Exception.Response
    if ($response -and $response.StatusCode) { return [int]$response.StatusCode }
    return 0
}

# Runs $Action until it succeeds, waiting 2, 4, 8 ... 60 seconds between attempts. A 4xx other
# than 408/429 is the server's final answer and is not retried.
function Invoke-WithRetry {
    param([scriptblock]$Action, [string]$What, [int]$Attempts)
    $delay = 2
    for ($attempt = 1; ; $attempt++) {
        try {
            return (& $Action)
        } catch {
            $status = Get-HttpStatus $_
            $final = ($status -ge 400) -and ($status -lt 500) -and ($status -ne 408) -and ($status -ne 429)
            Write-Log ('{0} failed (attempt {1}/{2}, HTTP {3}): {4}' -f $What, $attempt, $Attempts, $status, $_.Exception.Message)
            if ($final -or ($attempt -ge $Attempts)) { throw }
            Start-Sleep -Seconds $delay
            $delay = [Math]::Min($delay * 2, 60)
        }
    }
}

function Invoke-Api {
    param([string]$Path, [hashtable]$Body, [int]$Attempts)
    $uri = $script:ApiEndpoint + $Path
    $bytes = [System.Text.Encoding]::UTF8.GetBytes(($Body | ConvertTo-Json -Compress -Depth 6))
    $action = { Invoke-RestMethod -Method Post -Uri $uri -ContentType 'application/json; charset=utf-8' -Body $bytes -TimeoutSec 30 -UseBasicParsing }.GetNewClosure()
    return Invoke-WithRetry $action ('POST ' + $Path) $Attempts
}

# Progress is best effort: a failed report never stops the bootstrap.
function Send-Progress {
    param([string]$Step, [string]$Status, [hashtable]$Details = @{})
    $body = @{ token = [string]$script:Config.token; vm_uuid = [string]$script:Config.vm_uuid; step = $Step; status = $Status; details = $Details }
    try {
        Invoke-Api $ReportProgressPath $body 3 | Out-Null
        Write-Log ('Progress {0}: {1}' -f $Step, $Status)
    } catch {
        Write-Log ('Progress {0}: {1} not reported: {2}' -f $Step, $Status, $_.Exception.Message)
    }
}

function Get-SmbiosUuid {
    try { return [string](Get-CimInstance -ClassName Win32_ComputerSystemProduct).UUID } catch { return '' }
}

$exitCode = 0
$tokenValid = $false
try {
    Write-Log 'Bootstrap starting'
    $path = Find-ProvisionConfig
    if (-not $path) { throw 'provision.json not found on any drive' }
    Write-Log ('Reading {0}' -f $path)
    $script:Config = Get-Content -LiteralPath $path -Raw -Encoding UTF8 | ConvertFrom-Json
    if ([string]$script:Config.vm_uuid -ne $ExpectedVmUuid) {
        throw ('provision.json is for VM {0}, this script for VM {1}' -f $script:Config.vm_uuid, $ExpectedVmUuid)
    }
    $script:ApiEndpoint = ([string]$script:Config.api_endpoint).TrimEnd('/')
    if ($script:ApiEndpoint -notmatch '^https?://') { throw 'provision.json has no usable api_endpoint' }
    if (-not $script:Config.token) { throw 'provision.json has no token' }

    if ($script:Config.ip) { Set-StaticAddress $script:Config.ip } else { Write-Log 'No static address in provision.json: keeping DHCP' }

    $validation = Invoke-Api $ValidateTokenPath @{ token = [string]$script:Config.token; vm_uuid = [string]$script:Config.vm_uuid } 8
    # The server answers {success, data}; accept a bare object too.
    if ($validation.PSObject.Properties['data']) { $data = $validation.data } else { $data = $validation }
    if (($validation.success -eq $false) -or ($data.valid -eq $false)) { throw 'The server rejected the provisioning token' }
    $tokenValid = $true
    Write-Log 'Provisioning token accepted'
    Send-Progress 'windows_installed' 'completed' @{ computer_name = $env:COMPUTERNAME; smbios_uuid = (Get-SmbiosUuid) }

    if ($data.bootstrap_url) {
        $script:Step = 'downloader_ready'
        Send-Progress $script:Step 'running'
        $downloader = Join-Path $SetupDir 'downloader.exe'
        $url = [string]$data.bootstrap_url
        $download = { Invoke-WebRequest -Uri $url -OutFile $downloader -TimeoutSec 300 -UseBasicParsing }.GetNewClosure()
        Invoke-WithRetry $download 'Downloader download' 6 | Out-Null
        # The downloader reads the local copy: the config CD may be detached later.
        $localConfig = Join-Path $SetupDir 'provision.json'
        if (-not (Test-Path -LiteralPath $localConfig)) { Copy-Item -LiteralPath $path -Destination $localConfig -Force }
        Write-Log 'Running downloader.exe'
        $process = Start-Process -FilePath $downloader -ArgumentList @('--config', ('"{0}"' -f $localConfig)) -Wait -PassThru
        if ($process.ExitCode -ne 0) { throw ('downloader.exe exited with code {0}' -f $process.ExitCode) }
    } else {
        Write-Log 'The server offered no downloader; nothing more to run'
    }
    Write-Log 'Bootstrap complete'
} catch {
    $exitCode = 1
    Write-Log ('Bootstrap failed: {0}' -f $_.Exception.Message)
    if ($tokenValid) { Send-Progress $script:Step 'failed' @{ error = $_.Exception.Message } }
}
exit $exitCode
