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

# Visual effects
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\VisualEffects' 'VisualFXSetting' 'DWord' 3
Set-Reg 'HKCU:\Control Panel\Desktop\WindowMetrics' 'MinAnimate' 'String' '0'
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'TaskbarAnimations' 'DWord' 0
Set-Reg 'HKCU:\Software\Microsoft\Windows\DWM' 'EnableAeroPeek' 'DWord' 0
Set-Reg 'HKCU:\Control Panel\Desktop' 'FontSmoothing' 'String' '0'
Set-Reg 'HKCU:\Control Panel\Desktop' 'DragFullWindows' 'String' '0'
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'IconsOnly' 'DWord' 1
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'ListviewAlphaSelect' 'DWord' 0
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'ListviewShadow' 'DWord' 0
Set-Reg 'HKCU:\Software\Microsoft\Windows\DWM' 'AlwaysHibernateThumbnails' 'DWord' 0
Set-Reg 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'DisablePreviewDesktop' 'DWord' 1
Add-Type -Namespace BotMox -Name Spi -MemberDefinition '[DllImport("user32.dll", SetLastError = true)] public static extern bool SystemParametersInfo(uint action, uint uiParam, System.IntPtr pvParam, uint winIni);'
function Set-Spi {
    param([uint32]$Action, [bool]$On)
    if (-not [BotMox.Spi]::SystemParametersInfo($Action, 0, [System.IntPtr][int]$On, 3)) {
        Write-Warning ('SystemParametersInfo 0x{0:X4} failed' -f $Action)
    }
}
Set-Spi 0x1043 $false
Set-Spi 0x1007 $false
Set-Spi 0x101B $false
Set-Spi 0x1025 $false
Set-Spi 0x1003 $false
Set-Spi 0x1017 $false
Set-Spi 0x1015 $false
Set-Spi 0x1005 $false

# Desktop icons and Start folders
foreach ($desktop in @([Environment]::GetFolderPath('CommonDesktopDirectory'), [Environment]::GetFolderPath('Desktop'))) {
    Remove-Item -LiteralPath (Join-Path $desktop 'Microsoft Edge.lnk') -Force -ErrorAction SilentlyContinue
}

Stop-Transcript | Out-Null
