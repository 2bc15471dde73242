//! `autounattend.xml`: the Windows Setup answer file, rendered from a resolved profile.
//!
//! Passes: `windowsPE` (language, disk, image, key), `offlineServicing` (only when UAC is
//! disabled), `specialize` (computer name, time zone, registry tweaks that must precede OOBE)
//! and `oobeSystem` (OOBE switches, the local account, auto-logon, first-logon commands).
//! All text goes through quick-xml's escaping; characters XML 1.0 cannot carry are refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use botmox_contract::provisioning::PartitionStyle;
use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::ProvisioningError;
use super::first_logon::LogonCommand;
use super::resolve::ResolvedProfile;

pub const UNATTEND_NS: &str = "urn:schemas-microsoft-com:unattend";
pub const WCM_NS: &str = "http://schemas.microsoft.com/WMIConfig/2002/State";
/// Attributes every component carries (64-bit Windows).
pub const COMPONENT_ATTRIBUTES: [(&str, &str); 4] = [
    ("processorArchitecture", "amd64"),
    ("publicKeyToken", "31bf3856ad364e35"),
    ("language", "neutral"),
    ("versionScope", "nonSxS"),
];

/// Which password field a value is encoded for: Windows appends the field name before encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    /// `LocalAccount/Password` and `AutoLogon/Password`.
    Password,
    /// `UserAccounts/AdministratorPassword`.
    AdministratorPassword,
}

impl PasswordKind {
    fn suffix(self) -> &'static str {
        match self {
            Self::Password => "Password",
            Self::AdministratorPassword => "AdministratorPassword",
        }
    }
}

/// The `<Value>` of a password with `<PlainText>false</PlainText>`: base64 of the UTF-16LE
/// bytes of the password followed by the field name (UTF-8 here makes Setup fail with
/// "Failed to decode password").
pub fn encode_password(password: &str, kind: PasswordKind) -> String {
    let bytes: Vec<u8> = password
        .encode_utf16()
        .chain(kind.suffix().encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    STANDARD.encode(bytes)
}

/// Renders the answer file. `commands` are the first-logon commands in order.
pub fn render_autounattend(
    resolved: &ResolvedProfile<'_>,
    commands: &[LogonCommand],
) -> Result<String, ProvisioningError> {
    let mut xml = Xml::new();
    xml.declaration()?;
    xml.open_with("unattend", &[("xmlns", UNATTEND_NS), ("xmlns:wcm", WCM_NS)])?;
    windows_pe(&mut xml, resolved)?;
    if resolved.profile.windows_settings.disable_uac {
        xml.pass("offlineServicing", |xml| {
            xml.component("Microsoft-Windows-LUA-Settings", |xml| {
                xml.leaf("EnableLUA", "false")
            })
        })?;
    }
    specialize(&mut xml, resolved)?;
    oobe_system(&mut xml, resolved, commands)?;
    xml.close("unattend")?;
    xml.finish()
}

fn windows_pe(xml: &mut Xml, r: &ResolvedProfile<'_>) -> Result<(), ProvisioningError> {
    let p = r.profile;
    xml.pass("windowsPE", |xml| {
        xml.component("Microsoft-Windows-International-Core-WinPE", |xml| {
            xml.open("SetupUILanguage")?;
            xml.leaf("UILanguage", &p.locale.ui_language)?;
            xml.close("SetupUILanguage")?;
            locale_settings(xml, r)
        })?;
        xml.component("Microsoft-Windows-Setup", |xml| {
            disk_configuration(xml, r)?;
            image_install(xml, r)?;
            xml.open("UserData")?;
            xml.open("ProductKey")?;
            if let Some(key) = &p.windows.product_key {
                xml.leaf("Key", &key.to_ascii_uppercase())?;
            }
            xml.leaf("WillShowUI", "OnError")?;
            xml.close("ProductKey")?;
            xml.leaf("AcceptEula", "true")?;
            xml.close("UserData")?;
            if p.windows.bypass_hardware_checks {
                // Windows 11 Setup reads these from the WinPE registry before its checks.
                let paths: Vec<String> =
                    ["BypassTPMCheck", "BypassSecureBootCheck", "BypassRAMCheck"]
                        .iter()
                        .map(|v| {
                            format!(
                                r"reg add HKLM\SYSTEM\Setup\LabConfig /v {v} /t REG_DWORD /d 1 /f"
                            )
                        })
                        .collect();
                run_synchronous(xml, &paths)?;
            }
            Ok(())
        })
    })
}

fn locale_settings(xml: &mut Xml, r: &ResolvedProfile<'_>) -> Result<(), ProvisioningError> {
    xml.leaf("InputLocale", &r.input_locale)?;
    xml.leaf("SystemLocale", &r.system_locale)?;
    xml.leaf("UILanguage", &r.profile.locale.ui_language)?;
    xml.leaf("UserLocale", &r.user_locale)
}

/// Where Windows goes: the partition number inside the wiped disk.
fn windows_partition(style: PartitionStyle) -> u32 {
    match style {
        PartitionStyle::Gpt => 3,
        PartitionStyle::Mbr => 2,
    }
}

fn disk_configuration(xml: &mut Xml, r: &ResolvedProfile<'_>) -> Result<(), ProvisioningError> {
    let disk = &r.profile.disk;
    let system_mb = disk.system_partition_mb.to_string();
    xml.open("DiskConfiguration")?;
    xml.open_with("Disk", &[("wcm:action", "add")])?;
    xml.leaf("DiskID", &disk.disk_id.to_string())?;
    xml.leaf("WillWipeDisk", "true")?;
    xml.open("CreatePartitions")?;
    let created: Vec<(&str, Option<&str>)> = match disk.partition_style {
        PartitionStyle::Gpt => vec![
            ("EFI", Some(&system_mb)),
            ("MSR", Some("16")),
            ("Primary", None),
        ],
        PartitionStyle::Mbr => vec![("Primary", Some(&system_mb)), ("Primary", None)],
    };
    for (i, (kind, size)) in created.iter().enumerate() {
        xml.open_with("CreatePartition", &[("wcm:action", "add")])?;
        xml.leaf("Order", &(i + 1).to_string())?;
        xml.leaf("Type", kind)?;
        match size {
            Some(size) => xml.leaf("Size", size)?,
            None => xml.leaf("Extend", "true")?,
        }
        xml.close("CreatePartition")?;
    }
    xml.close("CreatePartitions")?;

    xml.open("ModifyPartitions")?;
    let windows = windows_partition(disk.partition_style).to_string();
    // (partition, format, label, letter, active); the MSR is left unformatted.
    let modified: Vec<(&str, &str, &str, Option<&str>, bool)> = match disk.partition_style {
        PartitionStyle::Gpt => vec![
            ("1", "FAT32", "System", None, false),
            (&windows, "NTFS", "Windows", Some("C"), false),
        ],
        PartitionStyle::Mbr => vec![
            ("1", "NTFS", "System Reserved", None, true),
            (&windows, "NTFS", "Windows", Some("C"), false),
        ],
    };
    for (i, (partition, format, label, letter, active)) in modified.iter().enumerate() {
        xml.open_with("ModifyPartition", &[("wcm:action", "add")])?;
        xml.leaf("Order", &(i + 1).to_string())?;
        xml.leaf("PartitionID", partition)?;
        xml.leaf("Format", format)?;
        xml.leaf("Label", label)?;
        if let Some(letter) = letter {
            xml.leaf("Letter", letter)?;
        }
        if *active {
            xml.leaf("Active", "true")?;
        }
        xml.close("ModifyPartition")?;
    }
    xml.close("ModifyPartitions")?;
    xml.close("Disk")?;
    xml.leaf("WillShowUI", "OnError")?;
    xml.close("DiskConfiguration")
}

fn image_install(xml: &mut Xml, r: &ResolvedProfile<'_>) -> Result<(), ProvisioningError> {
    let p = r.profile;
    xml.open("ImageInstall")?;
    xml.open("OSImage")?;
    let selector = match (&p.windows.edition, p.windows.image_index) {
        (Some(name), _) => Some(("/IMAGE/NAME", name.clone())),
        (None, Some(index)) => Some(("/IMAGE/INDEX", index.to_string())),
        (None, None) => None,
    };
    if let Some((key, value)) = selector {
        xml.open("InstallFrom")?;
        xml.open_with("MetaData", &[("wcm:action", "add")])?;
        xml.leaf("Key", key)?;
        xml.leaf("Value", &value)?;
        xml.close("MetaData")?;
        xml.close("InstallFrom")?;
    }
    xml.open("InstallTo")?;
    xml.leaf("DiskID", &p.disk.disk_id.to_string())?;
    xml.leaf(
        "PartitionID",
        &windows_partition(p.disk.partition_style).to_string(),
    )?;
    xml.close("InstallTo")?;
    xml.leaf("WillShowUI", "OnError")?;
    xml.close("OSImage")?;
    xml.close("ImageInstall")
}

/// `RunSynchronous` with one command per path, `Order` from 1.
fn run_synchronous(xml: &mut Xml, paths: &[String]) -> Result<(), ProvisioningError> {
    xml.open("RunSynchronous")?;
    for (i, path) in paths.iter().enumerate() {
        xml.open_with("RunSynchronousCommand", &[("wcm:action", "add")])?;
        xml.leaf("Order", &(i + 1).to_string())?;
        xml.leaf("Path", path)?;
        xml.close("RunSynchronousCommand")?;
    }
    xml.close("RunSynchronous")
}

fn specialize(xml: &mut Xml, r: &ResolvedProfile<'_>) -> Result<(), ProvisioningError> {
    let p = r.profile;
    let mut commands = Vec::new();
    if p.network.bypass_network_requirement {
        commands.push(
            r"reg add HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\OOBE /v BypassNRO /t REG_DWORD /d 1 /f"
                .to_owned(),
        );
    }
    if p.privacy.disable_privacy_experience {
        commands.push(
            r"reg add HKLM\SOFTWARE\Policies\Microsoft\Windows\OOBE /v DisablePrivacyExperience /t REG_DWORD /d 1 /f"
                .to_owned(),
        );
    }
    if p.windows_settings.prevent_device_encryption {
        // Before OOBE, where automatic device encryption would otherwise start.
        commands.push(
            r"reg add HKLM\SYSTEM\CurrentControlSet\Control\BitLocker /v PreventDeviceEncryption /t REG_DWORD /d 1 /f"
                .to_owned(),
        );
    }
    xml.pass("specialize", |xml| {
        xml.component("Microsoft-Windows-Shell-Setup", |xml| {
            xml.leaf("ComputerName", &r.computer_name)?;
            xml.leaf("TimeZone", &p.locale.time_zone)
        })?;
        xml.component("Microsoft-Windows-International-Core", |xml| {
            locale_settings(xml, r)
        })?;
        if !commands.is_empty() {
            xml.component("Microsoft-Windows-Deployment", |xml| {
                run_synchronous(xml, &commands)
            })?;
        }
        Ok(())
    })
}

fn password(xml: &mut Xml, element: &str, value: &str) -> Result<(), ProvisioningError> {
    xml.open(element)?;
    xml.leaf("Value", value)?;
    xml.leaf("PlainText", "false")?;
    xml.close(element)
}

fn oobe_system(
    xml: &mut Xml,
    r: &ResolvedProfile<'_>,
    commands: &[LogonCommand],
) -> Result<(), ProvisioningError> {
    let p = r.profile;
    let encoded = encode_password(&p.user.password, PasswordKind::Password);
    let bool_text = |b: bool| if b { "true" } else { "false" };
    xml.pass("oobeSystem", |xml| {
        xml.component("Microsoft-Windows-International-Core", |xml| {
            locale_settings(xml, r)
        })?;
        xml.component("Microsoft-Windows-Shell-Setup", |xml| {
            xml.open("AutoLogon")?;
            password(xml, "Password", &encoded)?;
            xml.leaf("Enabled", "true")?;
            xml.leaf("LogonCount", &p.user.auto_logon_count.to_string())?;
            xml.leaf("Username", &r.username)?;
            xml.close("AutoLogon")?;

            xml.open("FirstLogonCommands")?;
            for (i, command) in commands.iter().enumerate() {
                xml.open_with("SynchronousCommand", &[("wcm:action", "add")])?;
                xml.leaf("Order", &(i + 1).to_string())?;
                xml.leaf("CommandLine", &command.command_line)?;
                xml.leaf("Description", &command.description)?;
                xml.leaf("RequiresUserInput", "false")?;
                xml.close("SynchronousCommand")?;
            }
            xml.close("FirstLogonCommands")?;

            let oobe = &p.oobe;
            xml.open("OOBE")?;
            xml.leaf("HideEULAPage", bool_text(oobe.hide_eula_page))?;
            xml.leaf(
                "HideLocalAccountScreen",
                bool_text(oobe.hide_local_account_screen),
            )?;
            xml.leaf(
                "HideOEMRegistrationScreen",
                bool_text(oobe.hide_oem_registration),
            )?;
            xml.leaf(
                "HideOnlineAccountScreens",
                bool_text(oobe.hide_online_account_screens),
            )?;
            xml.leaf(
                "HideWirelessSetupInOOBE",
                bool_text(oobe.hide_wireless_setup),
            )?;
            xml.leaf("ProtectYourPC", &oobe.protect_your_pc.to_string())?;
            xml.close("OOBE")?;

            xml.open("UserAccounts")?;
            if let Some(admin) = &p.user.administrator_password {
                password(
                    xml,
                    "AdministratorPassword",
                    &encode_password(admin, PasswordKind::AdministratorPassword),
                )?;
            }
            xml.open("LocalAccounts")?;
            xml.open_with("LocalAccount", &[("wcm:action", "add")])?;
            password(xml, "Password", &encoded)?;
            xml.leaf("DisplayName", &r.display_name)?;
            xml.leaf("Group", p.user.group.as_str())?;
            xml.leaf("Name", &r.username)?;
            xml.close("LocalAccount")?;
            xml.close("LocalAccounts")?;
            xml.close("UserAccounts")
        })
    })
}

/// A thin layer over quick-xml's writer: indented elements, escaped text, and a refusal of
/// characters XML 1.0 cannot represent even escaped.
struct Xml {
    writer: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        Self {
            writer: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), ProvisioningError> {
        self.writer
            .write_event(event)
            .map_err(|e| ProvisioningError::Xml(e.to_string()))
    }

    fn declaration(&mut self) -> Result<(), ProvisioningError> {
        self.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
    }

    fn open(&mut self, name: &str) -> Result<(), ProvisioningError> {
        self.event(Event::Start(BytesStart::new(name)))
    }

    fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), ProvisioningError> {
        let start = BytesStart::new(name).with_attributes(attrs.iter().copied());
        self.event(Event::Start(start))
    }

    fn close(&mut self, name: &str) -> Result<(), ProvisioningError> {
        self.event(Event::End(BytesEnd::new(name)))
    }

    fn leaf(&mut self, name: &str, text: &str) -> Result<(), ProvisioningError> {
        if let Some(bad) = text.chars().find(|c| !is_xml_char(*c)) {
            return Err(ProvisioningError::XmlText(format!(
                "<{name}> cannot hold the character U+{:04X}",
                u32::from(bad)
            )));
        }
        self.open(name)?;
        // Text content needs only `&`, `<` and `>` escaped; quotes stay readable.
        self.event(Event::Text(BytesText::from_escaped(partial_escape(text))))?;
        self.close(name)
    }

    fn pass(
        &mut self,
        pass: &str,
        body: impl FnOnce(&mut Self) -> Result<(), ProvisioningError>,
    ) -> Result<(), ProvisioningError> {
        self.open_with("settings", &[("pass", pass)])?;
        body(self)?;
        self.close("settings")
    }

    fn component(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut Self) -> Result<(), ProvisioningError>,
    ) -> Result<(), ProvisioningError> {
        let mut attrs = vec![("name", name)];
        attrs.extend(COMPONENT_ATTRIBUTES);
        self.open_with("component", &attrs)?;
        body(self)?;
        self.close("component")
    }

    fn finish(self) -> Result<String, ProvisioningError> {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        String::from_utf8(bytes).map_err(|e| ProvisioningError::Xml(e.to_string()))
    }
}

/// XML 1.0 `Char`: tab, LF, CR and everything from U+0020 except U+FFFE and U+FFFF.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use botmox_contract::provisioning::{ProvisionVm, UnattendProfileConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::super::resolve::resolve;
    use super::*;

    #[test]
    fn password_encoding_known_answers() {
        // base64(UTF-16LE("P@ssw0rd" + "Password"))
        assert_eq!(
            encode_password("P@ssw0rd", PasswordKind::Password),
            "UABAAHMAcwB3ADAAcgBkAFAAYQBzAHMAdwBvAHIAZAA="
        );
        assert_eq!(
            encode_password("P@ssw0rd", PasswordKind::AdministratorPassword),
            "UABAAHMAcwB3ADAAcgBkAEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA=="
        );
        // An empty password still carries the suffix.
        assert_eq!(
            encode_password("", PasswordKind::Password),
            "UABhAHMAcwB3AG8AcgBkAA=="
        );
    }

    #[test]
    fn password_encoding_round_trips_non_ascii() {
        let encoded = encode_password("Şifre€", PasswordKind::Password);
        let bytes = STANDARD.decode(encoded).unwrap();
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "Şifre€Password");
    }

    fn render(
        profile: &UnattendProfileConfig,
        commands: &[LogonCommand],
    ) -> Result<String, ProvisioningError> {
        let vm = ProvisionVm {
            vm_uuid: "vm-1".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        };
        let resolved = resolve(profile, &vm, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        render_autounattend(&resolved, commands)
    }

    #[test]
    fn escapes_text_and_refuses_control_characters() {
        let mut profile = UnattendProfileConfig::default();
        profile.user.display_name = Some("Tom & \"Jerry\" <bots>".to_owned());
        let xml = render(&profile, &[]).unwrap();
        assert!(xml.contains("<DisplayName>Tom &amp; \"Jerry\" &lt;bots&gt;</DisplayName>"));

        let bad = [LogonCommand {
            command_line: "echo \u{1}".to_owned(),
            description: "x".to_owned(),
        }];
        assert!(matches!(
            render(&profile, &bad),
            Err(ProvisioningError::XmlText(_))
        ));
    }

    #[test]
    fn offline_servicing_only_when_uac_is_disabled() {
        let mut profile = UnattendProfileConfig::default();
        assert!(
            render(&profile, &[])
                .unwrap()
                .contains("<settings pass=\"offlineServicing\">")
        );
        profile.windows_settings.disable_uac = false;
        assert!(!render(&profile, &[]).unwrap().contains("offlineServicing"));
    }

    #[test]
    fn mbr_layout_installs_to_partition_two() {
        let mut profile = UnattendProfileConfig::default();
        profile.disk.partition_style = PartitionStyle::Mbr;
        let xml = render(&profile, &[]).unwrap();
        assert!(xml.contains("<Active>true</Active>"));
        assert!(!xml.contains("<Type>EFI</Type>"));
        let install_to = xml.split("<InstallTo>").nth(1).unwrap();
        assert!(install_to.contains("<PartitionID>2</PartitionID>"));
    }
}
