# Bot-Mox first-logon settings for this VM. Generated; runs once at first logon.
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
Start-Transcript -LiteralPath (Join-Path $PSScriptRoot 'FirstLogon.log') -Append | Out-Null

# Creates the key when missing; one failed value must not stop the rest.
function Set-Reg {
    param([string]$Path, [string]$Name, [string]$Type, $Value)
    try {
        if (-not (Test-Path -LiteralPath $Path)) { New-Item -Path $Path -Force | Out-Null }
        New-ItemProperty -LiteralPath $Path -Name $Name -PropertyType $Type -Value $Value -Force | Out-Null
    } catch {
        Write-Warning ('{0}\{1}: {2}' -f $Path, $Name, $_.Exception.Message)
    }
}

# Case-insensitive "contains any of the fragments".
function Test-AnyFragment {
    param([string]$Name, [string[]]$Fragments)
    foreach ($fragment in $Fragments) {
        if ($Name.IndexOf($fragment, [System.StringComparison]::OrdinalIgnoreCase) -ge 0) { return $true }
    }
    return $false
}

# Appx packages: provisioned (future users) and installed for this user
$packages = @('Vendor''s App', 'A&B <Tools>')
Get-AppxProvisionedPackage -Online | Where-Object { Test-AnyFragment $_.PackageName $packages } | ForEach-Object {
    Write-Host ('Removing provisioned package {0}' -f $_.PackageName)
    Remove-AppxProvisionedPackage -Online -PackageName $_.PackageName -ErrorAction SilentlyContinue | Out-Null
}
Get-AppxPackage | Where-Object { Test-AnyFragment $_.Name $packages } | ForEach-Object {
    Remove-AppxPackage -Package $_.PackageFullName -ErrorAction SilentlyContinue
}

# Windows settings
try { Set-MpPreference -DisableRealtimeMonitoring $true -ErrorAction Stop } catch { Write-Warning $_.Exception.Message }
Set-Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender' 'DisableAntiSpyware' 'DWord' 1
Set-Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' 'NoAutoUpdate' 'DWord' 1
Set-Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' 'EnableLUA' 'DWord' 0
Set-Reg 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer' 'SmartScreenEnabled' 'String' 'Off'
Disable-ComputerRestore -Drive 'C:\' -ErrorAction SilentlyContinue
Set-Reg 'HKLM:\SYSTEM\CurrentControlSet\Control\FileSystem' 'LongPathsEnabled' 'DWord' 1
Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope LocalMachine -Force -ErrorAction SilentlyContinue
Set-Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Dsh' 'AllowNewsAndInterests' 'DWord' 0
Set-Reg 'HKLM:\SOFTWARE\Policies\Microsoft\Edge' 'HideFirstRunExperience' 'DWord' 1
Set-Reg 'HKCU:\Control Panel\Accessibility\StickyKeys' 'Flags' 'String' '506'

# Home location
Set-WinHomeLocation -GeoId 235 -ErrorAction SilentlyContinue

# Desktop icons and Start folders
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel' '{20D04FE0-3AEA-1069-A2D8-08002B30309D}' 'DWord' 0
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel' '{645FF040-5081-101B-9F08-00AA002F954E}' 'DWord' 1
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel' '{59031a47-3f72-44a7-89c5-5595fe6b30ee}' 'DWord' 1
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel' '{5399E694-6CE5-4D6C-8FCE-1D8870FDCBA0}' 'DWord' 1
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel' '{F02C1A0D-BE21-4350-88B0-7367FC96EF3C}' 'DWord' 1
foreach ($desktop in @([Environment]::GetFolderPath('CommonDesktopDirectory'), [Environment]::GetFolderPath('Desktop'))) {
    Remove-Item -LiteralPath (Join-Path $desktop 'Microsoft Edge.lnk') -Force -ErrorAction SilentlyContinue
}

Stop-Transcript | Out-Null
