//! `provision.json` (what this VM is and where the server is) and `START.ps1` (the bootstrap
//! that reads it at first logon).

use std::net::IpAddr;

/// Netmask to prefix length (`255.255.254.0` or `/23` → 23), shared with input validation.
pub use botmox_contract::provisioning::netmask_prefix_len;
use botmox_contract::provisioning::{NetworkMode, ProvisionVm};
use serde::Serialize;
use url::{Host, Url};

use super::ProvisioningError;
use super::powershell::quote;
use super::resolve::ResolvedProfile;

/// Server path the bootstrap validates its token against.
pub const VALIDATE_TOKEN_PATH: &str = "/api/v1/provisioning/validate-token";
/// Server path the bootstrap reports progress to.
pub const REPORT_PROGRESS_PATH: &str = "/api/v1/provisioning/report-progress";

/// DNS server used when neither the VM nor the profile names one.
const FALLBACK_DNS: &str = "8.8.8.8";

/// The content of `provision.json`.
#[derive(Clone, Serialize)]
pub struct ProvisionFile {
    pub version: u32,
    pub vm_uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<String>,
    pub computer_name: String,
    pub username: String,
    /// `null` keeps DHCP.
    pub ip: Option<ProvisionFileIp>,
    pub token: String,
    /// Public base URL of the server, without a trailing slash.
    pub api_endpoint: String,
    /// Path of the token validation endpoint below `api_endpoint`.
    pub bootstrap_url: String,
    /// Path of the progress endpoint below `api_endpoint`.
    pub report_progress_url: String,
}

impl std::fmt::Debug for ProvisionFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionFile")
            .field("vm_uuid", &self.vm_uuid)
            .field("computer_name", &self.computer_name)
            .field("ip", &self.ip)
            .field("token", &"<redacted>")
            .field("api_endpoint", &self.api_endpoint)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionFileIp {
    pub address: String,
    pub netmask: String,
    /// Computed from `netmask` here, so the script need not (it still can, for hand edits).
    pub prefix_length: u8,
    pub gateway: String,
    pub dns: Vec<String>,
}

/// The server's public base URL as the VM must reach it: http(s), a host that is not a
/// loopback or unspecified address, no credentials, query or fragment; trailing `/` removed.
/// A loopback URL here would send every VM to itself.
pub fn api_endpoint(public_url: &Url) -> Result<String, ProvisioningError> {
    let fail = |why: &str| Err(ProvisioningError::PublicUrl(format!("{public_url}: {why}")));
    if !matches!(public_url.scheme(), "http" | "https") {
        return fail("must be http or https");
    }
    let loopback = match public_url.host() {
        None => return fail("has no host"),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => is_local(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_local(IpAddr::V6(ip)),
    };
    if loopback {
        return fail("is a loopback or unspecified address the VM cannot reach");
    }
    if !public_url.username().is_empty() || public_url.password().is_some() {
        return fail("must not carry credentials");
    }
    if public_url.query().is_some() || public_url.fragment().is_some() {
        return fail("must not have a query or fragment");
    }
    let mut text = public_url.as_str().to_owned();
    while text.ends_with('/') {
        text.pop();
    }
    Ok(text)
}

fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

/// The IP settings the VM applies, by the profile's network mode.
pub fn provision_ip(
    resolved: &ResolvedProfile<'_>,
    vm: &ProvisionVm,
) -> Result<Option<ProvisionFileIp>, ProvisioningError> {
    let network = &resolved.profile.network;
    let ip = match (network.mode, &vm.ip) {
        (NetworkMode::Dhcp, _) | (NetworkMode::Auto, None) => return Ok(None),
        (NetworkMode::Static, None) => return Err(ProvisioningError::MissingStaticIp),
        (NetworkMode::Auto | NetworkMode::Static, Some(ip)) => ip,
    };
    let prefix_length =
        netmask_prefix_len(&ip.netmask).map_err(|e| ProvisioningError::Resolved {
            field: "ip.netmask",
            message: e.to_string(),
        })?;
    // The VM's own servers, else the profile's, else the original's default: a static address
    // without DNS could not resolve the server's name.
    let dns = if !ip.dns.is_empty() {
        ip.dns.clone()
    } else if !network.dns_servers.is_empty() {
        network.dns_servers.clone()
    } else {
        vec![FALLBACK_DNS.to_owned()]
    };
    Ok(Some(ProvisionFileIp {
        address: ip.address.clone(),
        netmask: ip.netmask.trim().to_owned(),
        prefix_length,
        gateway: ip.gateway.clone(),
        dns,
    }))
}

/// Builds the `provision.json` content.
pub fn provision_file(
    resolved: &ResolvedProfile<'_>,
    vm: &ProvisionVm,
    token: &str,
    public_url: &Url,
) -> Result<ProvisionFile, ProvisioningError> {
    Ok(ProvisionFile {
        version: 1,
        vm_uuid: vm.vm_uuid.clone(),
        vm_name: vm.vm_name.clone(),
        computer_name: resolved.computer_name.clone(),
        username: resolved.username.clone(),
        ip: provision_ip(resolved, vm)?,
        token: token.to_owned(),
        api_endpoint: api_endpoint(public_url)?,
        bootstrap_url: VALIDATE_TOKEN_PATH.to_owned(),
        report_progress_url: REPORT_PROGRESS_PATH.to_owned(),
    })
}

/// `provision.json` bytes: pretty JSON, 2-space indent, trailing newline.
pub fn provision_json(file: &ProvisionFile) -> Result<Vec<u8>, ProvisioningError> {
    let mut bytes =
        serde_json::to_vec_pretty(file).map_err(|e| ProvisioningError::Json(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `START.ps1` for this VM. The only interpolated values are the VM UUID the file must match
/// and the adapter alias, both as single-quoted literals; everything else comes from
/// `provision.json` at run time.
pub fn start_script(resolved: &ResolvedProfile<'_>, vm: &ProvisionVm) -> String {
    let alias = resolved
        .profile
        .network
        .interface_alias
        .as_deref()
        .unwrap_or("");
    START_PS1
        .replace("{{EXPECTED_VM_UUID}}", &quote(&vm.vm_uuid))
        .replace("{{INTERFACE_ALIAS}}", &quote(alias))
        .replace("{{VALIDATE_TOKEN_PATH}}", &quote(VALIDATE_TOKEN_PATH))
        .replace("{{REPORT_PROGRESS_PATH}}", &quote(REPORT_PROGRESS_PATH))
}

const START_PS1: &str = r#"# Bot-Mox provisioning bootstrap, generated for one VM and launched at its first logon.
# Reads provision.json from the config CD, applies the static address, validates the
# provisioning token with the server, reports progress and runs the next-stage downloader
# when the server offers one. Log: C:\WindowsSetup\bootstrap.log (the token is never logged).
param([string]$ConfigPath = '')

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ExpectedVmUuid = {{EXPECTED_VM_UUID}}
$InterfaceAlias = {{INTERFACE_ALIAS}}
$ValidateTokenPath = {{VALIDATE_TOKEN_PATH}}
$ReportProgressPath = {{REPORT_PROGRESS_PATH}}
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
"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use botmox_contract::provisioning::{ProvisionIp, UnattendProfileConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::resolve::resolve;
    use super::*;

    fn vm(ip: Option<ProvisionIp>) -> ProvisionVm {
        ProvisionVm {
            vm_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32".to_owned(),
            vm_name: Some("WoW1".to_owned()),
            ip,
            sequence: None,
        }
    }

    fn ip(netmask: &str, dns: &[&str]) -> ProvisionIp {
        ProvisionIp {
            address: "10.0.5.20".to_owned(),
            netmask: netmask.to_owned(),
            gateway: "10.0.5.1".to_owned(),
            dns: dns.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn api_endpoint_refuses_loopback_and_odd_urls() {
        assert_eq!(
            api_endpoint(&url("https://botmox.example.com/")).unwrap(),
            "https://botmox.example.com"
        );
        assert_eq!(
            api_endpoint(&url("http://10.0.0.5:3001/botmox/")).unwrap(),
            "http://10.0.0.5:3001/botmox"
        );
        for bad in [
            "http://localhost:3001",
            "http://127.0.0.1:3001",
            "http://127.8.0.1",
            "http://[::1]:8080",
            "http://0.0.0.0",
            "http://app.localhost",
            "ftp://botmox.example.com",
            "https://user:pw@botmox.example.com",
            "https://botmox.example.com/?x=1",
        ] {
            assert!(
                matches!(
                    api_endpoint(&url(bad)),
                    Err(ProvisioningError::PublicUrl(_))
                ),
                "{bad}"
            );
        }
    }

    fn resolved(profile: &UnattendProfileConfig) -> ResolvedProfile<'_> {
        resolve(profile, &vm(None), &mut ChaCha8Rng::seed_from_u64(0)).unwrap()
    }

    #[test]
    fn provision_json_fields() {
        let profile = UnattendProfileConfig::default();
        let r = resolved(&profile);
        let vm = vm(Some(ip("255.255.254.0", &["1.1.1.1", "8.8.8.8"])));
        let file = provision_file(&r, &vm, "tok.en", &url("https://botmox.example.com")).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&provision_json(&file).unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["vm_uuid"], "4c4c4544-0042-3510-8052-b4c04f4e4d32");
        assert_eq!(json["token"], "tok.en");
        assert_eq!(json["api_endpoint"], "https://botmox.example.com");
        assert_eq!(json["bootstrap_url"], "/api/v1/provisioning/validate-token");
        assert_eq!(json["ip"]["prefix_length"], 23);
        assert_eq!(json["ip"]["dns"], serde_json::json!(["1.1.1.1", "8.8.8.8"]));
        assert_eq!(json["computer_name"], r.computer_name.as_str());
        assert!(
            !format!("{file:?}").contains("tok.en"),
            "Debug redacts the token"
        );
    }

    #[test]
    fn prefix_length_from_dotted_or_cidr_netmasks() {
        let profile = UnattendProfileConfig::default();
        for (mask, prefix) in [
            ("255.255.255.0", 24),
            ("255.255.255.252", 30),
            ("255.255.240.0", 20),
            ("/16", 16),
            ("8", 8),
        ] {
            let ip = provision_ip(&resolved(&profile), &vm(Some(ip(mask, &[])))).unwrap();
            assert_eq!(ip.unwrap().prefix_length, prefix, "{mask}");
        }
        assert_eq!(
            netmask_prefix_len("255.255.0.255").ok(),
            None,
            "non-contiguous"
        );
    }

    #[test]
    fn network_modes() {
        let mut profile = UnattendProfileConfig::default();
        profile.network.dns_servers = vec!["9.9.9.9".to_owned()];
        let with_ip = vm(Some(ip("/24", &[])));
        let ip_of = |profile: &UnattendProfileConfig, vm: &ProvisionVm| {
            provision_ip(&resolved(profile), vm)
        };
        let auto = ip_of(&profile, &with_ip).unwrap().unwrap();
        assert_eq!(auto.prefix_length, 24);
        assert_eq!(auto.dns, vec!["9.9.9.9"], "profile DNS fills in");
        assert_eq!(ip_of(&profile, &vm(None)).unwrap(), None);
        profile.network.dns_servers.clear();
        assert_eq!(
            ip_of(&profile, &with_ip).unwrap().unwrap().dns,
            vec!["8.8.8.8"]
        );
        profile.network.mode = NetworkMode::Dhcp;
        assert_eq!(ip_of(&profile, &with_ip).unwrap(), None);
        profile.network.mode = NetworkMode::Static;
        assert!(matches!(
            ip_of(&profile, &vm(None)),
            Err(ProvisioningError::MissingStaticIp)
        ));
    }

    #[test]
    fn start_script_quotes_interpolated_values() {
        let mut profile = UnattendProfileConfig::default();
        profile.network.interface_alias = Some("Ethernet 'prod' $x".to_owned());
        let r = resolved(&profile);
        let script = start_script(&r, &vm(None));
        assert!(!script.contains("{{"), "every placeholder replaced");
        assert!(script.contains("$ExpectedVmUuid = '4c4c4544-0042-3510-8052-b4c04f4e4d32'\n"));
        assert!(script.contains("$InterfaceAlias = 'Ethernet ''prod'' $x'\n"));
        assert!(script.contains("$ValidateTokenPath = '/api/v1/provisioning/validate-token'"));
        assert!(script.contains("$ReportProgressPath = '/api/v1/provisioning/report-progress'"));
        assert!(script.contains("Send-Progress 'windows_installed' 'completed'"));
        assert!(script.contains("New-NetIPAddress"));
        assert!(script.contains("ConvertTo-PrefixLength"));
    }

    /// A structural check of the script: braces, parentheses and single-quoted strings balance.
    #[test]
    fn start_script_is_balanced() {
        let profile = UnattendProfileConfig::default();
        let script = start_script(&resolved(&profile), &vm(None));
        let (mut braces, mut parens) = (0i32, 0i32);
        for line in script.lines() {
            let code = line.split(" #").next().unwrap_or(line);
            if code.trim_start().starts_with('#') {
                continue;
            }
            let mut in_single = false;
            let mut in_double = false;
            for c in code.chars() {
                match c {
                    '\'' if !in_double => in_single = !in_single,
                    '"' if !in_single => in_double = !in_double,
                    '{' if !in_single && !in_double => braces += 1,
                    '}' if !in_single && !in_double => braces -= 1,
                    '(' if !in_single && !in_double => parens += 1,
                    ')' if !in_single && !in_double => parens -= 1,
                    _ => {}
                }
            }
            assert!(!in_single && !in_double, "unbalanced quotes: {line}");
            assert!(braces >= 0 && parens >= 0, "closes before opening: {line}");
        }
        assert_eq!((braces, parens), (0, 0));
    }
}
