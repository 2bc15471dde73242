//! `FirstLogon.ps1`: the per-VM settings applied at first logon (package, capability and
//! feature removal, Windows settings, privacy, home location, visual effects, desktop icons).
//!
//! It ships as a file on the config ISO and runs with `-File`: the same logic inlined into one
//! `-Command` line broke on its own quotes and overran the 1024-character command-line limit.
//! Profile data enters the script only as single-quoted literals (see [`super::powershell`]).

use super::SETUP_DIR;
use super::powershell::{quote, string_array};
use super::resolve::{DesktopIcon, ResolvedProfile, StartFolder, VisualEffect};

/// File name of the settings script on the ISO and in `C:\WindowsSetup`.
pub const SETTINGS_SCRIPT: &str = "FirstLogon.ps1";

const PRELUDE: &str = r#"$ErrorActionPreference = 'Continue'
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
"#;

/// Effects stored in the per-user `UserPreferencesMask` have no registry value of their own;
/// SystemParametersInfo sets them and persists them (SPIF_UPDATEINIFILE | SPIF_SENDCHANGE).
const SPI_PRELUDE: &str = r#"Add-Type -Namespace BotMox -Name Spi -MemberDefinition '[DllImport("user32.dll", SetLastError = true)] public static extern bool SystemParametersInfo(uint action, uint uiParam, System.IntPtr pvParam, uint winIni);'
function Set-Spi {
    param([uint32]$Action, [bool]$On)
    if (-not [BotMox.Spi]::SystemParametersInfo($Action, 0, [System.IntPtr][int]$On, 3)) {
        Write-Warning ('SystemParametersInfo 0x{0:X4} failed' -f $Action)
    }
}
"#;

const ADVANCED: &str = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced";
const DESKTOP: &str = r"HKCU:\Control Panel\Desktop";
const DWM: &str = r"HKCU:\Software\Microsoft\Windows\DWM";

/// How one visual effect is stored.
enum EffectTarget {
    /// Registry value with its on and off data.
    Reg {
        path: &'static str,
        name: &'static str,
        kind: RegKind,
        on: &'static str,
        off: &'static str,
    },
    /// A SystemParametersInfo SET action taking the flag as `pvParam`.
    Spi(u32),
}

#[derive(Clone, Copy)]
enum RegKind {
    Dword,
    String,
}

fn effect_target(effect: VisualEffect) -> EffectTarget {
    use EffectTarget::{Reg, Spi};
    use RegKind::{Dword, String};
    match effect {
        VisualEffect::AnimateControls => Spi(0x1043), // SPI_SETCLIENTAREAANIMATION
        VisualEffect::AnimateMinMax => Reg {
            path: r"HKCU:\Control Panel\Desktop\WindowMetrics",
            name: "MinAnimate",
            kind: String,
            on: "1",
            off: "0",
        },
        VisualEffect::AnimateTaskbar => Reg {
            path: ADVANCED,
            name: "TaskbarAnimations",
            kind: Dword,
            on: "1",
            off: "0",
        },
        VisualEffect::AeroPeek => Reg {
            path: DWM,
            name: "EnableAeroPeek",
            kind: Dword,
            on: "1",
            off: "0",
        },
        VisualEffect::FontSmoothing => Reg {
            path: DESKTOP,
            name: "FontSmoothing",
            kind: String,
            on: "2",
            off: "0",
        },
        VisualEffect::DragFullWindows => Reg {
            path: DESKTOP,
            name: "DragFullWindows",
            kind: String,
            on: "1",
            off: "0",
        },
        VisualEffect::ListBoxSmoothScrolling => Spi(0x1007), // SPI_SETLISTBOXSMOOTHSCROLLING
        VisualEffect::CursorShadow => Spi(0x101B),           // SPI_SETCURSORSHADOW
        VisualEffect::ThumbnailPreviews => Reg {
            path: ADVANCED,
            name: "IconsOnly",
            kind: Dword,
            on: "0",
            off: "1",
        },
        VisualEffect::Translucent => Reg {
            path: ADVANCED,
            name: "ListviewAlphaSelect",
            kind: Dword,
            on: "1",
            off: "0",
        },
        VisualEffect::IconShadow => Reg {
            path: ADVANCED,
            name: "ListviewShadow",
            kind: Dword,
            on: "1",
            off: "0",
        },
        VisualEffect::SaveThumbnails => Reg {
            path: DWM,
            name: "AlwaysHibernateThumbnails",
            kind: Dword,
            on: "1",
            off: "0",
        },
        VisualEffect::PeekDesktop => Reg {
            path: ADVANCED,
            name: "DisablePreviewDesktop",
            kind: Dword,
            on: "0",
            off: "1",
        },
        VisualEffect::WindowShadow => Spi(0x1025), // SPI_SETDROPSHADOW
        VisualEffect::FadeMenuItems => Spi(0x1003), // SPI_SETMENUANIMATION
        VisualEffect::FadeTooltips => Spi(0x1017), // SPI_SETTOOLTIPANIMATION
        VisualEffect::FadeAfterClick => Spi(0x1015), // SPI_SETSELECTIONFADE
        VisualEffect::ComboBoxSlide => Spi(0x1005), // SPI_SETCOMBOBOXANIMATION
    }
}

fn icon_clsid(icon: DesktopIcon) -> &'static str {
    match icon {
        DesktopIcon::ThisPc => "{20D04FE0-3AEA-1069-A2D8-08002B30309D}",
        DesktopIcon::RecycleBin => "{645FF040-5081-101B-9F08-00AA002F954E}",
        DesktopIcon::UserFiles => "{59031a47-3f72-44a7-89c5-5595fe6b30ee}",
        DesktopIcon::ControlPanel => "{5399E694-6CE5-4D6C-8FCE-1D8870FDCBA0}",
        DesktopIcon::Network => "{F02C1A0D-BE21-4350-88B0-7367FC96EF3C}",
    }
}

fn start_folder_value(folder: StartFolder) -> &'static str {
    match folder {
        StartFolder::Documents => "Start_ShowDocuments",
        StartFolder::Downloads => "Start_ShowDownloads",
        StartFolder::Music => "Start_ShowMusic",
        StartFolder::Pictures => "Start_ShowPictures",
        StartFolder::Videos => "Start_ShowVideos",
        StartFolder::PersonalFolder => "Start_ShowPersonalFolder",
        StartFolder::Settings => "Start_ShowSettings",
        StartFolder::FileExplorer => "Start_ShowFileExplorer",
        StartFolder::Network => "Start_ShowNetwork",
    }
}

/// Accumulates the script's sections; each is emitted only when it has something to do.
#[derive(Default)]
struct Script {
    sections: Vec<String>,
}

impl Script {
    fn section(&mut self, title: &str, body: Vec<String>) {
        if !body.is_empty() {
            self.sections
                .push(format!("# {title}\n{}\n", body.join("\n")));
        }
    }
}

fn set_reg(path: &str, name: &str, kind: RegKind, value: &str) -> String {
    let (kind, value) = match kind {
        RegKind::Dword => ("'DWord'", value.to_owned()),
        RegKind::String => ("'String'", quote(value)),
    };
    format!("Set-Reg {} {} {kind} {value}", quote(path), quote(name))
}

fn dword(path: &str, name: &str, value: u32) -> String {
    set_reg(path, name, RegKind::Dword, &value.to_string())
}

/// The settings script for a resolved profile, or `None` when there is nothing to apply.
pub fn settings_script(resolved: &ResolvedProfile<'_>) -> Option<String> {
    let profile = resolved.profile;
    let mut script = Script::default();

    if !resolved.packages.is_empty() {
        script.section(
            "Appx packages: provisioned (future users) and installed for this user",
            vec![
                format!("$packages = {}", string_array(&resolved.packages)),
                "Get-AppxProvisionedPackage -Online | Where-Object { Test-AnyFragment $_.PackageName $packages } | ForEach-Object {".to_owned(),
                "    Write-Host ('Removing provisioned package {0}' -f $_.PackageName)".to_owned(),
                "    Remove-AppxProvisionedPackage -Online -PackageName $_.PackageName -ErrorAction SilentlyContinue | Out-Null".to_owned(),
                "}".to_owned(),
                "Get-AppxPackage | Where-Object { Test-AnyFragment $_.Name $packages } | ForEach-Object {".to_owned(),
                "    Remove-AppxPackage -Package $_.PackageFullName -ErrorAction SilentlyContinue".to_owned(),
                "}".to_owned(),
            ],
        );
    }

    if !resolved.capabilities.is_empty() {
        script.section(
            "Windows capabilities",
            vec![
                format!("$capabilities = {}", string_array(&resolved.capabilities)),
                "Get-WindowsCapability -Online | Where-Object { $_.State -eq 'Installed' -and (Test-AnyFragment $_.Name $capabilities) } | ForEach-Object {".to_owned(),
                "    Write-Host ('Removing capability {0}' -f $_.Name)".to_owned(),
                "    Remove-WindowsCapability -Online -Name $_.Name -ErrorAction SilentlyContinue | Out-Null".to_owned(),
                "}".to_owned(),
            ],
        );
    }

    let features = &profile.feature_removal.features;
    if !features.is_empty() {
        script.section(
            "Optional features",
            vec![
                format!("foreach ($feature in {}) {{", string_array(features)),
                "    Disable-WindowsOptionalFeature -Online -FeatureName $feature -NoRestart -ErrorAction SilentlyContinue | Out-Null".to_owned(),
                "}".to_owned(),
            ],
        );
    }

    script.section("Windows settings", windows_settings(resolved));
    script.section("Privacy", privacy(resolved));

    if profile.locale.geo_location > 0 {
        script.section(
            "Home location",
            vec![format!(
                "Set-WinHomeLocation -GeoId {} -ErrorAction SilentlyContinue",
                profile.locale.geo_location
            )],
        );
    }

    if let Some(effects) = &resolved.visual_effects {
        script.section("Visual effects", visual_effects(effects));
    }
    script.section("Desktop icons and Start folders", desktop(resolved));

    if script.sections.is_empty() {
        return None;
    }
    let mut out = String::new();
    out.push_str(
        "# Bot-Mox first-logon settings for this VM. Generated; runs once at first logon.\n",
    );
    out.push_str(PRELUDE);
    for section in &script.sections {
        out.push('\n');
        out.push_str(section);
    }
    out.push_str("\nStop-Transcript | Out-Null\n");
    Some(out)
}

fn windows_settings(resolved: &ResolvedProfile<'_>) -> Vec<String> {
    let s = &resolved.profile.windows_settings;
    let mut lines = Vec::new();
    if s.disable_defender {
        lines.push("try { Set-MpPreference -DisableRealtimeMonitoring $true -ErrorAction Stop } catch { Write-Warning $_.Exception.Message }".to_owned());
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender",
            "DisableAntiSpyware",
            1,
        ));
    }
    if s.disable_windows_update {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU",
            "NoAutoUpdate",
            1,
        ));
    }
    if s.disable_uac {
        // Also set offline by the answer file; repeated here so a re-run restores it.
        lines.push(dword(
            r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
            "EnableLUA",
            0,
        ));
    }
    if s.disable_smart_screen {
        lines.push(set_reg(
            r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer",
            "SmartScreenEnabled",
            RegKind::String,
            "Off",
        ));
    }
    if s.disable_system_restore {
        lines
            .push(r"Disable-ComputerRestore -Drive 'C:\' -ErrorAction SilentlyContinue".to_owned());
    }
    if s.enable_long_paths {
        lines.push(dword(
            r"HKLM:\SYSTEM\CurrentControlSet\Control\FileSystem",
            "LongPathsEnabled",
            1,
        ));
    }
    if s.allow_power_shell_scripts {
        lines.push(
            "Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope LocalMachine -Force -ErrorAction SilentlyContinue"
                .to_owned(),
        );
    }
    if s.disable_widgets {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Dsh",
            "AllowNewsAndInterests",
            0,
        ));
    }
    if s.disable_edge_startup {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Edge",
            "HideFirstRunExperience",
            1,
        ));
    }
    if s.disable_sticky_keys {
        lines.push(set_reg(
            r"HKCU:\Control Panel\Accessibility\StickyKeys",
            "Flags",
            RegKind::String,
            "506",
        ));
    }
    if s.enable_remote_desktop {
        lines.push(dword(
            r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
            0,
        ));
        // The rule group by resource id, so it also matches on non-English Windows.
        lines.push(
            "Enable-NetFirewallRule -Group '@FirewallAPI.dll,-28752' -ErrorAction SilentlyContinue"
                .to_owned(),
        );
    }
    lines
}

fn privacy(resolved: &ResolvedProfile<'_>) -> Vec<String> {
    let p = &resolved.profile.privacy;
    let mut lines = Vec::new();
    if p.disable_telemetry {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection",
            "AllowTelemetry",
            0,
        ));
    }
    if p.disable_advertising_id {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\AdvertisingInfo",
            "DisabledByGroupPolicy",
            1,
        ));
    }
    if p.disable_location {
        lines.push(dword(
            r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\LocationAndSensors",
            "DisableLocation",
            1,
        ));
    }
    if p.disable_activity_history {
        for name in [
            "EnableActivityFeed",
            "PublishUserActivities",
            "UploadUserActivities",
        ] {
            lines.push(dword(
                r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\System",
                name,
                0,
            ));
        }
    }
    if p.disable_tailored_experiences {
        lines.push(dword(
            r"HKCU:\Software\Policies\Microsoft\Windows\CloudContent",
            "DisableTailoredExperiencesWithDiagnosticData",
            1,
        ));
    }
    lines
}

fn visual_effects(effects: &[(VisualEffect, bool)]) -> Vec<String> {
    let mut lines = vec![dword(
        r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\VisualEffects",
        "VisualFXSetting",
        3, // custom: the values below decide
    )];
    let mut spi = Vec::new();
    for (effect, on) in effects {
        match effect_target(*effect) {
            EffectTarget::Reg {
                path,
                name,
                kind,
                on: on_value,
                off,
            } => lines.push(set_reg(path, name, kind, if *on { on_value } else { off })),
            EffectTarget::Spi(action) => spi.push(format!(
                "Set-Spi 0x{action:04X} {}",
                if *on { "$true" } else { "$false" }
            )),
        }
    }
    if !spi.is_empty() {
        lines.extend(SPI_PRELUDE.lines().map(str::to_owned));
        lines.extend(spi);
    }
    lines
}

fn desktop(resolved: &ResolvedProfile<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(icons) = &resolved.desktop_icons {
        for (icon, show) in icons {
            lines.push(dword(
                r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\HideDesktopIcons\NewStartPanel",
                icon_clsid(*icon),
                u32::from(!show),
            ));
        }
    }
    for (folder, show) in &resolved.start_folders {
        lines.push(dword(
            r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Start",
            start_folder_value(*folder),
            u32::from(*show),
        ));
    }
    // Honoured in every icon mode (the original skipped it in `default`).
    if resolved.profile.desktop_icons.delete_edge_shortcut {
        lines.push("foreach ($desktop in @([Environment]::GetFolderPath('CommonDesktopDirectory'), [Environment]::GetFolderPath('Desktop'))) {".to_owned());
        lines.push("    Remove-Item -LiteralPath (Join-Path $desktop 'Microsoft Edge.lnk') -Force -ErrorAction SilentlyContinue".to_owned());
        lines.push("}".to_owned());
    }
    lines
}

/// Where the settings script lands on the VM.
pub fn settings_script_path() -> String {
    format!(r"{SETUP_DIR}\{SETTINGS_SCRIPT}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use botmox_contract::provisioning::{
        DesktopIconsMode, ProvisionVm, RemovalMode, UnattendProfileConfig, VisualEffectsMode,
        WindowsSettingsConfig,
    };
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::resolve::resolve;
    use super::*;

    fn vm() -> ProvisionVm {
        ProvisionVm {
            vm_uuid: "vm-1".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        }
    }

    fn script(profile: &UnattendProfileConfig) -> Option<String> {
        let resolved = resolve(profile, &vm(), &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        settings_script(&resolved)
    }

    fn nothing_to_do() -> UnattendProfileConfig {
        let mut profile = UnattendProfileConfig::default();
        profile.windows_settings = WindowsSettingsConfig {
            disable_defender: false,
            disable_windows_update: false,
            disable_uac: false,
            disable_smart_screen: false,
            disable_system_restore: false,
            enable_long_paths: false,
            allow_power_shell_scripts: false,
            disable_widgets: false,
            disable_edge_startup: false,
            prevent_device_encryption: false,
            disable_sticky_keys: false,
            enable_remote_desktop: false,
        };
        profile.locale.geo_location = 0;
        profile.visual_effects.mode = VisualEffectsMode::Default;
        profile.desktop_icons.delete_edge_shortcut = false;
        profile
    }

    #[test]
    fn no_script_when_nothing_is_asked() {
        assert_eq!(script(&nothing_to_do()), None);
    }

    #[test]
    fn package_names_are_quoted_data() {
        let mut profile = nothing_to_do();
        profile.software_removal.mode = RemovalMode::Fixed;
        profile.software_removal.fixed_packages = vec![
            "Microsoft.BingNews".to_owned(),
            "Evil'; Remove-Item C:\\ -Recurse; '".to_owned(),
        ];
        let text = script(&profile).unwrap();
        assert!(text.contains(
            "$packages = @('Microsoft.BingNews', 'Evil''; Remove-Item C:\\ -Recurse; ''')"
        ));
        assert!(text.contains("Remove-AppxProvisionedPackage"));
        assert!(text.ends_with("Stop-Transcript | Out-Null\n"));
    }

    #[test]
    fn default_profile_writes_settings_effects_and_removes_edge_shortcut() {
        let text = script(&UnattendProfileConfig::default()).unwrap();
        assert!(text.contains(
            "Set-Reg 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender' 'DisableAntiSpyware' 'DWord' 1"
        ));
        assert!(text.contains(
            "Set-Reg 'HKCU:\\Control Panel\\Accessibility\\StickyKeys' 'Flags' 'String' '506'"
        ));
        assert!(
            !text.contains("fDenyTSConnections"),
            "RDP is off by default"
        );
        assert!(text.contains("Set-WinHomeLocation -GeoId 235"));
        // Performance mode: every effect off, each exactly once.
        assert!(text.contains("'MinAnimate' 'String' '0'"));
        assert!(text.contains("'IconsOnly' 'DWord' 1"));
        assert!(text.contains("Set-Spi 0x101B $false"));
        assert_eq!(text.matches("Set-Spi 0x").count(), 8);
        assert!(
            text.contains("Microsoft Edge.lnk"),
            "deleted even in default icon mode"
        );
        assert!(!text.contains("HideDesktopIcons"));
    }

    #[test]
    fn custom_icons_and_remote_desktop() {
        let mut profile = nothing_to_do();
        profile.desktop_icons.mode = Some(DesktopIconsMode::Custom);
        profile.desktop_icons.icons.recycle_bin = Some(true);
        profile.desktop_icons.start_folders.settings = Some(true);
        profile.windows_settings.enable_remote_desktop = true;
        let text = script(&profile).unwrap();
        assert!(text.contains("'{645FF040-5081-101B-9F08-00AA002F954E}' 'DWord' 0"));
        assert!(text.contains("'{20D04FE0-3AEA-1069-A2D8-08002B30309D}' 'DWord' 1"));
        assert!(text.contains("'Start_ShowSettings' 'DWord' 1"));
        assert!(text.contains("'fDenyTSConnections' 'DWord' 0"));
        assert!(text.contains("Enable-NetFirewallRule -Group '@FirewallAPI.dll,-28752'"));
    }
}
