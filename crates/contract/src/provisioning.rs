//! Windows provisioning inputs: the unattend profile (what every VM built from it gets) and the
//! per-VM target (identity and network). Field names follow the original profile format; the
//! wire is snake_case and the original camelCase spellings are accepted as aliases.
//!
//! Every value that ends up in `autounattend.xml` or a PowerShell script is validated here, so
//! the generators only ever see well-formed text.

use std::net::Ipv4Addr;

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest NetBIOS computer name Windows accepts.
pub const COMPUTER_NAME_MAX: usize = 15;
/// Longest local user name Windows accepts.
pub const USER_NAME_MAX: usize = 20;
/// Longest local account password (the LAN Manager compatible limit Windows Setup enforces).
pub const PASSWORD_MAX: usize = 127;

/// A complete unattend profile. Every section has a default, so `{}` is a valid profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct UnattendProfileConfig {
    #[garde(dive)]
    pub user: UserAccountConfig,
    #[garde(dive)]
    #[serde(alias = "computerName")]
    pub computer_name: ComputerNameConfig,
    #[garde(dive)]
    pub locale: LocaleConfig,
    #[garde(dive)]
    pub windows: WindowsImageConfig,
    #[garde(dive)]
    pub disk: DiskLayoutConfig,
    #[garde(dive)]
    pub network: NetworkConfig,
    #[garde(dive)]
    pub oobe: OobeConfig,
    #[garde(dive)]
    pub privacy: PrivacyConfig,
    #[garde(dive)]
    #[serde(alias = "softwareRemoval")]
    pub software_removal: SoftwareRemovalConfig,
    #[garde(dive)]
    #[serde(alias = "capabilityRemoval")]
    pub capability_removal: CapabilityRemovalConfig,
    #[garde(dive)]
    #[serde(alias = "featureRemoval")]
    pub feature_removal: FeatureRemovalConfig,
    #[garde(dive)]
    #[serde(alias = "windowsSettings")]
    pub windows_settings: WindowsSettingsConfig,
    #[garde(dive)]
    #[serde(alias = "visualEffects")]
    pub visual_effects: VisualEffectsConfig,
    #[garde(dive)]
    #[serde(alias = "desktopIcons")]
    pub desktop_icons: DesktopIconsConfig,
    /// Extra commands run at first logon, after the settings script and before the bootstrap.
    #[garde(length(max = 50), dive)]
    #[serde(alias = "firstLogonCommands")]
    pub first_logon_commands: Vec<FirstLogonCommand>,
    #[garde(dive)]
    #[serde(alias = "customScript")]
    pub custom_script: CustomScriptConfig,
    /// The frontend's XML template, kept for its preview; the server renders from the
    /// structured fields above and ignores it.
    #[garde(inner(length(max = 1_048_576)))]
    #[serde(alias = "xmlTemplate", skip_serializing_if = "Option::is_none")]
    pub xml_template: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// User account

#[derive(Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct UserAccountConfig {
    #[garde(skip)]
    #[serde(alias = "nameMode")]
    pub name_mode: UserNameMode,
    /// Required when `name_mode` is `custom`.
    #[garde(custom(custom_user_name(&self.name_mode, &self.custom_name_suffix)))]
    #[serde(alias = "customName", skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[garde(skip)]
    #[serde(alias = "customNameSuffix")]
    pub custom_name_suffix: NameSuffix,
    /// Defaults to the resolved user name.
    #[garde(inner(custom(plain_text), length(chars, max = 256)))]
    #[serde(alias = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[garde(custom(plain_text), length(chars, max = PASSWORD_MAX))]
    #[schema(format = Password)]
    pub password: String,
    /// Password of the built-in Administrator account; left untouched when absent.
    #[garde(inner(custom(plain_text), length(chars, min = 1, max = PASSWORD_MAX)))]
    #[serde(
        alias = "administratorPassword",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(format = Password)]
    pub administrator_password: Option<String>,
    #[garde(skip)]
    pub group: AccountGroup,
    /// How many automatic logons Windows performs; the first one runs the first-logon commands.
    #[garde(range(min = 1, max = 9_999_999))]
    #[serde(alias = "autoLogonCount")]
    pub auto_logon_count: u32,
}

impl Default for UserAccountConfig {
    fn default() -> Self {
        Self {
            name_mode: UserNameMode::Random,
            custom_name: None,
            custom_name_suffix: NameSuffix::None,
            display_name: None,
            password: "1204".to_owned(),
            administrator_password: None,
            group: AccountGroup::Administrators,
            auto_logon_count: 9_999_999,
        }
    }
}

impl std::fmt::Debug for UserAccountConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAccountConfig")
            .field("name_mode", &self.name_mode)
            .field("custom_name", &self.custom_name)
            .field("custom_name_suffix", &self.custom_name_suffix)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field(
                "administrator_password",
                &self.administrator_password.as_ref().map(|_| "<redacted>"),
            )
            .field("group", &self.group)
            .field("auto_logon_count", &self.auto_logon_count)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserNameMode {
    /// `<Adjective><Noun><NN>`, e.g. `SwiftFox42`.
    #[default]
    Random,
    /// Always `User`.
    Fixed,
    /// `custom_name`, optionally with a suffix.
    Custom,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameSuffix {
    #[default]
    None,
    /// 2 to 4 random digits.
    RandomDigits,
    /// The VM's `sequence` number, supplied with the target.
    Sequential,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AccountGroup {
    #[default]
    #[serde(alias = "administrators")]
    Administrators,
    #[serde(alias = "users")]
    Users,
}

impl AccountGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrators => "Administrators",
            Self::Users => "Users",
        }
    }
}

/// Longest suffix each mode may add, so the checked base name plus suffix still fits.
fn suffix_room(suffix: NameSuffix) -> usize {
    match suffix {
        NameSuffix::None => 0,
        NameSuffix::RandomDigits => 4,
        // Sequence numbers are printed without padding; 4 digits covers any realistic fleet and
        // the resolver re-checks the final length.
        NameSuffix::Sequential => 4,
    }
}

fn custom_user_name<'a>(
    mode: &'a UserNameMode,
    suffix: &'a NameSuffix,
) -> impl FnOnce(&Option<String>, &()) -> garde::Result + 'a {
    move |value, _| match (mode, value) {
        (UserNameMode::Custom, None) => Err(garde::Error::new("required when name_mode is custom")),
        (_, Some(name)) => {
            check_user_name(name)?;
            let room = USER_NAME_MAX - suffix_room(*suffix);
            if *mode == UserNameMode::Custom && name.chars().count() > room {
                return Err(garde::Error::new(format!(
                    "must be at most {room} characters so the name suffix fits in {USER_NAME_MAX}"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Local user names: 1–20 characters, none of `" / \ [ ] : ; | = , + * ? < > @` (Windows' list)
/// nor `%` (cmd would expand it), not only dots and spaces, no surrounding spaces, and not one of
/// the built-in accounts.
pub fn check_user_name(name: &str) -> garde::Result {
    let count = name.chars().count();
    if count == 0 || count > USER_NAME_MAX {
        return Err(garde::Error::new(format!(
            "must be 1 to {USER_NAME_MAX} characters"
        )));
    }
    if let Some(bad) = name.chars().find(|c| "\"/\\[]:;|=,+*?<>@%".contains(*c)) {
        return Err(garde::Error::new(format!(
            "must not contain the character {bad:?}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    if name.trim() != name {
        return Err(garde::Error::new("must not start or end with a space"));
    }
    if name.chars().all(|c| c == '.' || c == ' ') {
        return Err(garde::Error::new(
            "must not consist only of dots and spaces",
        ));
    }
    const RESERVED: [&str; 5] = [
        "administrator",
        "guest",
        "defaultaccount",
        "wdagutilityaccount",
        "system",
    ];
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(garde::Error::new("is a built-in Windows account name"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Computer name

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct ComputerNameConfig {
    #[garde(skip)]
    pub mode: ComputerNameMode,
    /// Required when `mode` is `custom`.
    #[garde(custom(custom_computer_name(&self.mode)))]
    #[serde(alias = "customName", skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    /// `random` mode: the fixed start of the name; random letters and digits fill it to 15.
    #[garde(custom(valid_random_prefix))]
    #[serde(alias = "randomPrefix")]
    pub random_prefix: String,
}

impl Default for ComputerNameConfig {
    fn default() -> Self {
        Self {
            mode: ComputerNameMode::Random,
            custom_name: None,
            random_prefix: "DESKTOP-".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComputerNameMode {
    /// `random_prefix` + random `[A-Z0-9]` up to 15 characters (`DESKTOP-XXXXXXX`).
    #[default]
    Random,
    /// Always `WIN-PC`.
    Fixed,
    Custom,
}

/// Fewest random characters a random computer name carries.
pub const COMPUTER_NAME_MIN_RANDOM: usize = 4;

fn custom_computer_name(
    mode: &ComputerNameMode,
) -> impl FnOnce(&Option<String>, &()) -> garde::Result + '_ {
    move |value, _| match (mode, value) {
        (ComputerNameMode::Custom, None) => Err(garde::Error::new("required when mode is custom")),
        (_, Some(name)) => check_computer_name(name),
        _ => Ok(()),
    }
}

fn valid_random_prefix(value: &str, _: &()) -> garde::Result {
    let room = COMPUTER_NAME_MAX - COMPUTER_NAME_MIN_RANDOM;
    if value.len() > room {
        return Err(garde::Error::new(format!(
            "must be at most {room} characters so at least {COMPUTER_NAME_MIN_RANDOM} random ones fit"
        )));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(garde::Error::new(
            "may contain only letters A-Z, digits and hyphens",
        ));
    }
    if value.starts_with('-') {
        return Err(garde::Error::new("must not start with a hyphen"));
    }
    Ok(())
}

/// Computer (NetBIOS/DNS host) names: 1–15 of `A-Z a-z 0-9 -`, not only digits, no hyphen at
/// either end.
pub fn check_computer_name(name: &str) -> garde::Result {
    if name.is_empty() || name.len() > COMPUTER_NAME_MAX {
        return Err(garde::Error::new(format!(
            "must be 1 to {COMPUTER_NAME_MAX} characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(garde::Error::new(
            "may contain only letters A-Z, digits and hyphens",
        ));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(garde::Error::new("must not consist only of digits"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(garde::Error::new("must not start or end with a hyphen"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Locale

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct LocaleConfig {
    /// Display language, e.g. `en-US`.
    #[garde(custom(language_tag))]
    #[serde(alias = "uiLanguage")]
    pub ui_language: String,
    /// Defaults to `ui_language`.
    #[garde(inner(custom(language_tag)))]
    #[serde(alias = "systemLocale", skip_serializing_if = "Option::is_none")]
    pub system_locale: Option<String>,
    /// Defaults to `ui_language`.
    #[garde(inner(custom(language_tag)))]
    #[serde(alias = "userLocale", skip_serializing_if = "Option::is_none")]
    pub user_locale: Option<String>,
    /// Older form of `keyboard_layouts`: `"0409:00000409"` strings. Used only when
    /// `keyboard_layouts` is empty.
    #[garde(length(max = 5), inner(custom(input_locale)))]
    #[serde(alias = "inputLocales", skip_serializing_if = "Vec::is_empty")]
    pub input_locales: Vec<String>,
    /// Keyboard layouts in order; the first is the default. Empty = US English.
    #[garde(length(max = 5), dive)]
    #[serde(alias = "keyboardLayouts")]
    pub keyboard_layouts: Vec<KeyboardLayout>,
    /// Windows time zone id, e.g. `W. Europe Standard Time`.
    #[garde(custom(valid_time_zone))]
    #[serde(alias = "timeZone")]
    pub time_zone: String,
    /// Home location (GeoID); 0 leaves Windows' choice.
    #[garde(range(max = 999_999))]
    #[serde(alias = "geoLocation")]
    pub geo_location: u32,
}

impl Default for LocaleConfig {
    fn default() -> Self {
        Self {
            ui_language: "en-US".to_owned(),
            system_locale: None,
            user_locale: None,
            input_locales: Vec::new(),
            keyboard_layouts: Vec::new(),
            time_zone: "Turkey Standard Time".to_owned(),
            geo_location: 235,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct KeyboardLayout {
    /// Language id, 4 hex digits (`0409`).
    #[garde(pattern(r"^[0-9A-Fa-f]{4}$"))]
    pub language: String,
    /// Keyboard layout id, 8 hex digits (`00000409`).
    #[garde(pattern(r"^[0-9A-Fa-f]{8}$"))]
    pub layout: String,
}

fn language_tag(value: &str, _: &()) -> garde::Result {
    let mut parts = value.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && value.len() <= 32 {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be a language tag such as en-US or tr-TR",
        ))
    }
}

fn input_locale(value: &str, _: &()) -> garde::Result {
    let ok = value.split_once(':').is_some_and(|(lang, layout)| {
        lang.len() == 4
            && layout.len() == 8
            && lang.chars().all(|c| c.is_ascii_hexdigit())
            && layout.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be language:layout in hex, e.g. 0409:00000409",
        ))
    }
}

fn valid_time_zone(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        return Err(garde::Error::new("must not be blank"));
    }
    if value.len() > 64 {
        return Err(garde::Error::new("must be at most 64 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ()+-.,_".contains(c))
    {
        return Err(garde::Error::new(
            "must be a Windows time zone id such as \"W. Europe Standard Time\"",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Windows image, disk, network

#[derive(Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct WindowsImageConfig {
    /// Image name inside `install.wim`, e.g. `Windows 11 Pro`. Needed on multi-edition media.
    #[garde(inner(custom(plain_text), length(chars, min = 1, max = 128)), custom(edition_xor_index(&self.image_index)))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// Image index inside `install.wim`; an alternative to `edition`.
    #[garde(inner(range(min = 1, max = 64)))]
    #[serde(alias = "imageIndex", skip_serializing_if = "Option::is_none")]
    pub image_index: Option<u32>,
    /// `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX` (a generic key selects the edition without activating).
    #[garde(inner(custom(valid_product_key)))]
    #[serde(alias = "productKey", skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    /// Skip Windows 11's TPM, Secure Boot and RAM checks (VMs without a virtual TPM).
    #[garde(skip)]
    #[serde(alias = "bypassHardwareChecks")]
    pub bypass_hardware_checks: bool,
}

impl std::fmt::Debug for WindowsImageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowsImageConfig")
            .field("edition", &self.edition)
            .field("image_index", &self.image_index)
            .field(
                "product_key",
                &self.product_key.as_ref().map(|_| "<redacted>"),
            )
            .field("bypass_hardware_checks", &self.bypass_hardware_checks)
            .finish()
    }
}

fn edition_xor_index(
    index: &Option<u32>,
) -> impl FnOnce(&Option<String>, &()) -> garde::Result + '_ {
    move |edition, _| {
        if edition.is_some() && index.is_some() {
            Err(garde::Error::new(
                "set either edition or image_index, not both",
            ))
        } else {
            Ok(())
        }
    }
}

fn valid_product_key(value: &str, _: &()) -> garde::Result {
    let groups: Vec<&str> = value.split('-').collect();
    let ok = groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be five groups of five letters or digits, e.g. VK7JG-NPHTM-C97JM-9MPGT-3V66T",
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct DiskLayoutConfig {
    /// The disk Windows is installed to; it is wiped.
    #[garde(range(max = 15))]
    #[serde(alias = "diskId")]
    pub disk_id: u32,
    #[garde(skip)]
    #[serde(alias = "partitionStyle")]
    pub partition_style: PartitionStyle,
    /// Size of the EFI (GPT) or System Reserved (MBR) partition in MB.
    #[garde(range(min = 100, max = 2048))]
    #[serde(alias = "systemPartitionMb")]
    pub system_partition_mb: u32,
}

impl Default for DiskLayoutConfig {
    fn default() -> Self {
        Self {
            disk_id: 0,
            partition_style: PartitionStyle::Gpt,
            system_partition_mb: 512,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartitionStyle {
    /// UEFI: EFI (FAT32) + MSR + Windows.
    #[default]
    Gpt,
    /// BIOS: System Reserved (active) + Windows.
    Mbr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct NetworkConfig {
    #[garde(skip)]
    pub mode: NetworkMode,
    /// Adapter to configure (`Ethernet`); absent = the first connected physical adapter.
    #[garde(inner(custom(plain_text), length(chars, min = 1, max = 128)))]
    #[serde(alias = "interfaceAlias", skip_serializing_if = "Option::is_none")]
    pub interface_alias: Option<String>,
    /// DNS servers used when the VM's own settings name none.
    #[garde(length(max = 4), inner(custom(ipv4)))]
    #[serde(alias = "dnsServers")]
    pub dns_servers: Vec<String>,
    /// Let OOBE finish without a network connection (`BypassNRO`).
    #[garde(skip)]
    #[serde(alias = "bypassNetworkRequirement")]
    pub bypass_network_requirement: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            mode: NetworkMode::Auto,
            interface_alias: None,
            dns_servers: Vec::new(),
            bypass_network_requirement: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// Static when the VM comes with IP settings, DHCP otherwise.
    #[default]
    Auto,
    Dhcp,
    /// The VM must come with IP settings.
    Static,
}

// ---------------------------------------------------------------------------------------------
// OOBE and privacy

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct OobeConfig {
    #[garde(skip)]
    #[serde(alias = "hideEulaPage")]
    pub hide_eula_page: bool,
    #[garde(skip)]
    #[serde(alias = "hideLocalAccountScreen")]
    pub hide_local_account_screen: bool,
    #[garde(skip)]
    #[serde(alias = "hideOnlineAccountScreens")]
    pub hide_online_account_screens: bool,
    #[garde(skip)]
    #[serde(alias = "hideWirelessSetup")]
    pub hide_wireless_setup: bool,
    #[garde(skip)]
    #[serde(alias = "hideOemRegistration")]
    pub hide_oem_registration: bool,
    /// 1 = recommended settings, 2 = updates only, 3 = no automatic protection.
    #[garde(range(min = 1, max = 3))]
    #[serde(alias = "protectYourPc")]
    pub protect_your_pc: u8,
}

impl Default for OobeConfig {
    fn default() -> Self {
        Self {
            hide_eula_page: true,
            hide_local_account_screen: true,
            hide_online_account_screens: true,
            hide_wireless_setup: true,
            hide_oem_registration: true,
            protect_your_pc: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Skip the OOBE privacy settings page.
    #[garde(skip)]
    #[serde(alias = "disablePrivacyExperience")]
    pub disable_privacy_experience: bool,
    #[garde(skip)]
    #[serde(alias = "disableTelemetry")]
    pub disable_telemetry: bool,
    #[garde(skip)]
    #[serde(alias = "disableAdvertisingId")]
    pub disable_advertising_id: bool,
    #[garde(skip)]
    #[serde(alias = "disableLocation")]
    pub disable_location: bool,
    #[garde(skip)]
    #[serde(alias = "disableActivityHistory")]
    pub disable_activity_history: bool,
    #[garde(skip)]
    #[serde(alias = "disableTailoredExperiences")]
    pub disable_tailored_experiences: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            disable_privacy_experience: true,
            disable_telemetry: false,
            disable_advertising_id: false,
            disable_location: false,
            disable_activity_history: false,
            disable_tailored_experiences: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Removal of packages, capabilities and optional features

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovalMode {
    /// The fixed list only.
    #[default]
    Fixed,
    /// A random subset of the pool only.
    Random,
    /// Older name of `fixed_random`.
    Mixed,
    /// The fixed list plus a random subset of the rest of the pool.
    FixedRandom,
}

/// An inclusive count range for random picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct CountRange {
    #[garde(range(max = 500))]
    pub min: u32,
    #[garde(range(max = 500), custom(not_below(&self.min)))]
    pub max: u32,
}

fn not_below(min: &u32) -> impl FnOnce(&u32, &()) -> garde::Result + '_ {
    move |max, _| {
        if max < min {
            Err(garde::Error::new(format!(
                "must not be less than min ({min})"
            )))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct SoftwareRemovalConfig {
    #[garde(skip)]
    pub mode: RemovalMode,
    /// Appx package name fragments, e.g. `Microsoft.BingNews`.
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "fixedPackages")]
    pub fixed_packages: Vec<String>,
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "randomPool")]
    pub random_pool: Vec<String>,
    /// Never removed, whatever the other lists say.
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "neverRemove")]
    pub never_remove: Vec<String>,
    /// Absent = 5..15.
    #[garde(dive)]
    #[serde(alias = "randomCount", skip_serializing_if = "Option::is_none")]
    pub random_count: Option<CountRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct CapabilityRemovalConfig {
    #[garde(skip)]
    pub mode: RemovalMode,
    /// Capability name fragments, e.g. `Browser.InternetExplorer`.
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "fixedCapabilities")]
    pub fixed_capabilities: Vec<String>,
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "randomPool")]
    pub random_pool: Vec<String>,
    #[garde(length(max = 200), inner(custom(list_item)))]
    #[serde(alias = "neverRemove")]
    pub never_remove: Vec<String>,
    /// Absent = 3..10.
    #[garde(dive)]
    #[serde(alias = "randomCount", skip_serializing_if = "Option::is_none")]
    pub random_count: Option<CountRange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct FeatureRemovalConfig {
    /// Optional feature names to disable, e.g. `WindowsMediaPlayer`.
    #[garde(length(max = 100), inner(pattern(r"^[A-Za-z0-9._-]{1,128}$")))]
    pub features: Vec<String>,
}

fn list_item(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        return Err(garde::Error::new("must not be blank"));
    }
    if value.chars().count() > 200 {
        return Err(garde::Error::new("must be at most 200 characters"));
    }
    plain_text(value, &())
}

// ---------------------------------------------------------------------------------------------
// Windows settings, visual effects, desktop icons

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct WindowsSettingsConfig {
    #[garde(skip)]
    #[serde(alias = "disableDefender")]
    pub disable_defender: bool,
    #[garde(skip)]
    #[serde(alias = "disableWindowsUpdate")]
    pub disable_windows_update: bool,
    #[garde(skip)]
    #[serde(alias = "disableUac")]
    pub disable_uac: bool,
    #[garde(skip)]
    #[serde(alias = "disableSmartScreen")]
    pub disable_smart_screen: bool,
    #[garde(skip)]
    #[serde(alias = "disableSystemRestore")]
    pub disable_system_restore: bool,
    #[garde(skip)]
    #[serde(alias = "enableLongPaths")]
    pub enable_long_paths: bool,
    #[garde(skip)]
    #[serde(alias = "allowPowerShellScripts")]
    pub allow_power_shell_scripts: bool,
    #[garde(skip)]
    #[serde(alias = "disableWidgets")]
    pub disable_widgets: bool,
    #[garde(skip)]
    #[serde(alias = "disableEdgeStartup")]
    pub disable_edge_startup: bool,
    #[garde(skip)]
    #[serde(alias = "preventDeviceEncryption")]
    pub prevent_device_encryption: bool,
    #[garde(skip)]
    #[serde(alias = "disableStickyKeys")]
    pub disable_sticky_keys: bool,
    #[garde(skip)]
    #[serde(alias = "enableRemoteDesktop")]
    pub enable_remote_desktop: bool,
}

impl Default for WindowsSettingsConfig {
    fn default() -> Self {
        Self {
            disable_defender: true,
            disable_windows_update: true,
            disable_uac: true,
            disable_smart_screen: true,
            disable_system_restore: true,
            enable_long_paths: true,
            allow_power_shell_scripts: true,
            disable_widgets: true,
            disable_edge_startup: true,
            prevent_device_encryption: true,
            disable_sticky_keys: true,
            enable_remote_desktop: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisualEffectsMode {
    /// Leave Windows' defaults.
    Default,
    /// Every effect on.
    Appearance,
    /// Every effect off.
    #[default]
    Performance,
    /// `effects`, absent = off.
    Custom,
    /// `effects`, absent = chosen at random per VM.
    CustomRandomize,
    /// Older name of `default`.
    Balanced,
    /// Older name of `custom_randomize`.
    Random,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct VisualEffectsConfig {
    #[garde(skip)]
    pub mode: VisualEffectsMode,
    #[garde(skip)]
    pub effects: VisualEffectToggles,
    /// Older form of `effects.cursor_shadow`.
    #[garde(skip)]
    #[serde(alias = "cursorShadow", skip_serializing_if = "Option::is_none")]
    pub cursor_shadow: Option<bool>,
    /// Older form of `effects.font_smoothing`.
    #[garde(skip)]
    #[serde(alias = "fontSmoothing", skip_serializing_if = "Option::is_none")]
    pub font_smoothing: Option<bool>,
}

/// The Performance Options check boxes; `None` = not specified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct VisualEffectToggles {
    /// Animate controls and elements inside windows.
    #[serde(alias = "animateControls", skip_serializing_if = "Option::is_none")]
    pub animate_controls: Option<bool>,
    /// Animate windows when minimizing and maximizing.
    #[serde(alias = "animateMinMax", skip_serializing_if = "Option::is_none")]
    pub animate_min_max: Option<bool>,
    /// Animations in the taskbar.
    #[serde(alias = "animateTaskbar", skip_serializing_if = "Option::is_none")]
    pub animate_taskbar: Option<bool>,
    /// Enable Peek.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aeropeek: Option<bool>,
    /// Smooth edges of screen fonts.
    #[serde(alias = "fontSmoothing", skip_serializing_if = "Option::is_none")]
    pub font_smoothing: Option<bool>,
    /// Show window contents while dragging.
    #[serde(alias = "dragFullWindows", skip_serializing_if = "Option::is_none")]
    pub drag_full_windows: Option<bool>,
    /// Smooth-scroll list boxes.
    #[serde(
        alias = "listBoxSmoothScrolling",
        skip_serializing_if = "Option::is_none"
    )]
    pub list_box_smooth_scrolling: Option<bool>,
    /// Show shadows under mouse pointer.
    #[serde(alias = "cursorShadow", skip_serializing_if = "Option::is_none")]
    pub cursor_shadow: Option<bool>,
    /// Show thumbnails instead of icons.
    #[serde(alias = "thumbnailPreviews", skip_serializing_if = "Option::is_none")]
    pub thumbnail_previews: Option<bool>,
    /// Show translucent selection rectangle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translucent: Option<bool>,
    /// Use drop shadows for icon labels on the desktop.
    #[serde(alias = "iconShadow", skip_serializing_if = "Option::is_none")]
    pub icon_shadow: Option<bool>,
    /// Save taskbar thumbnail previews.
    #[serde(alias = "saveThumbnails", skip_serializing_if = "Option::is_none")]
    pub save_thumbnails: Option<bool>,
    /// Peek at desktop (the taskbar corner).
    #[serde(alias = "peekDesktop", skip_serializing_if = "Option::is_none")]
    pub peek_desktop: Option<bool>,
    /// Show shadows under windows.
    #[serde(alias = "windowShadow", skip_serializing_if = "Option::is_none")]
    pub window_shadow: Option<bool>,
    /// Fade or slide menus into view.
    #[serde(alias = "fadeMenuItems", skip_serializing_if = "Option::is_none")]
    pub fade_menu_items: Option<bool>,
    /// Fade or slide ToolTips into view.
    #[serde(alias = "fadeTooltips", skip_serializing_if = "Option::is_none")]
    pub fade_tooltips: Option<bool>,
    /// Fade out menu items after clicking.
    #[serde(alias = "fadeAfterClick", skip_serializing_if = "Option::is_none")]
    pub fade_after_click: Option<bool>,
    /// Slide open combo boxes.
    #[serde(alias = "comboBoxSlide", skip_serializing_if = "Option::is_none")]
    pub combo_box_slide: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DesktopIconsMode {
    /// Leave Windows' icons (the Edge shortcut is still deleted when asked).
    #[default]
    Default,
    /// `icons`, absent = hidden.
    Custom,
    /// `icons`, absent = chosen at random per VM.
    CustomRandomize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct DesktopIconsConfig {
    /// Absent: `custom` when the older `recycle_bin`/`this_pc` fields are set, else `default`.
    #[garde(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<DesktopIconsMode>,
    #[garde(skip)]
    pub icons: DesktopIconToggles,
    #[garde(skip)]
    #[serde(alias = "startFolders")]
    pub start_folders: StartFolderToggles,
    #[garde(skip)]
    #[serde(alias = "deleteEdgeShortcut")]
    pub delete_edge_shortcut: bool,
    /// Older form of `icons.recycle_bin`.
    #[garde(skip)]
    #[serde(alias = "recycleBin", skip_serializing_if = "Option::is_none")]
    pub recycle_bin: Option<bool>,
    /// Older form of `icons.this_pc`.
    #[garde(skip)]
    #[serde(
        alias = "thisPC",
        alias = "thisPc",
        skip_serializing_if = "Option::is_none"
    )]
    pub this_pc: Option<bool>,
}

impl Default for DesktopIconsConfig {
    fn default() -> Self {
        Self {
            mode: None,
            icons: DesktopIconToggles::default(),
            start_folders: StartFolderToggles::default(),
            delete_edge_shortcut: true,
            recycle_bin: None,
            this_pc: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct DesktopIconToggles {
    #[serde(
        alias = "thisPC",
        alias = "thisPc",
        skip_serializing_if = "Option::is_none"
    )]
    pub this_pc: Option<bool>,
    #[serde(alias = "recycleBin", skip_serializing_if = "Option::is_none")]
    pub recycle_bin: Option<bool>,
    #[serde(alias = "userFiles", skip_serializing_if = "Option::is_none")]
    pub user_files: Option<bool>,
    #[serde(alias = "controlPanel", skip_serializing_if = "Option::is_none")]
    pub control_panel: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
}

/// Folders shown next to the Start menu's power button; `None` = Windows' choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StartFolderToggles {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pictures: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub videos: Option<bool>,
    #[serde(alias = "personalFolder", skip_serializing_if = "Option::is_none")]
    pub personal_folder: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<bool>,
    #[serde(alias = "fileExplorer", skip_serializing_if = "Option::is_none")]
    pub file_explorer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// First-logon commands and the bootstrap launch

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct FirstLogonCommand {
    #[garde(inner(custom(plain_text), length(chars, max = 256)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub kind: CommandKind,
    /// `cmd`: one command line (moved into a `.cmd` file on the config ISO when it is longer
    /// than Windows' 1024-character limit). `powershell`: a script, always run from a file.
    #[garde(custom(command_text(&self.kind)))]
    #[serde(alias = "command_line", alias = "commandLine")]
    pub command: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    #[default]
    Cmd,
    Powershell,
}

/// Longest first-logon command or script accepted.
pub const COMMAND_MAX: usize = 65_536;

fn command_text(kind: &CommandKind) -> impl FnOnce(&String, &()) -> garde::Result + '_ {
    move |value, _| {
        if value.trim().is_empty() {
            return Err(garde::Error::new("must not be blank"));
        }
        if value.chars().count() > COMMAND_MAX {
            return Err(garde::Error::new(format!(
                "must be at most {COMMAND_MAX} characters"
            )));
        }
        match kind {
            CommandKind::Cmd if value.contains(['\r', '\n']) => Err(garde::Error::new(
                "a cmd command is one line; use kind powershell for a multi-line script",
            )),
            CommandKind::Cmd => plain_text(value, &()),
            CommandKind::Powershell => script_text(value, &()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(default)]
pub struct CustomScriptConfig {
    /// File in `C:\WindowsSetup` launched at the end of the first logon: `.ps1`, `.exe`,
    /// `.cmd` or `.bat`. The generated bootstrap is `START.ps1`; the original's default
    /// `START.exe`, which no ISO ever carried, launches `START.ps1` too.
    #[garde(custom(executable_name))]
    pub executable: String,
    /// Seconds to wait before launching it.
    #[garde(range(max = 600))]
    #[serde(alias = "delaySeconds")]
    pub delay_seconds: u32,
}

impl Default for CustomScriptConfig {
    fn default() -> Self {
        Self {
            executable: "START.ps1".to_owned(),
            delay_seconds: 20,
        }
    }
}

fn executable_name(value: &str, _: &()) -> garde::Result {
    let (stem, ext) = value.rsplit_once('.').unwrap_or((value, ""));
    let stem_ok = !stem.is_empty()
        && stem.len() <= 64
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let ext_ok = ["ps1", "exe", "cmd", "bat"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e));
    if stem_ok && ext_ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be a file name of letters, digits, . _ - ending in .ps1, .exe, .cmd or .bat",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The VM being provisioned

/// One VM to provision: its identity and, for a static address, its IP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProvisionVm {
    /// The VM's SMBIOS UUID (the provisioning token is bound to it).
    #[garde(pattern(r"^[A-Za-z0-9-]{1,64}$"))]
    pub vm_uuid: String,
    #[garde(inner(custom(plain_text), length(chars, max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<String>,
    #[garde(dive)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<ProvisionIp>,
    /// Position in a batch; used by the `sequential` user name suffix.
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
}

/// Static IPv4 settings of one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct ProvisionIp {
    #[garde(custom(ipv4))]
    pub address: String,
    /// Dotted (`255.255.255.0`) or prefix (`/24`, `24`).
    #[garde(custom(valid_netmask))]
    #[serde(default = "default_netmask")]
    pub netmask: String,
    #[garde(custom(ipv4), custom(gateway_in_subnet(&self.address, &self.netmask)))]
    pub gateway: String,
    #[garde(length(max = 4), inner(custom(ipv4)))]
    #[serde(default = "default_dns")]
    pub dns: Vec<String>,
}

fn default_netmask() -> String {
    "255.255.255.0".to_owned()
}

fn default_dns() -> Vec<String> {
    vec!["8.8.8.8".to_owned()]
}

fn ipv4(value: &str, _: &()) -> garde::Result {
    parse_ipv4(value)
        .map(|_| ())
        .ok_or_else(|| garde::Error::new("must be an IPv4 address such as 192.168.1.10"))
}

/// Strict dotted-quad parse (no shorthand forms).
pub fn parse_ipv4(value: &str) -> Option<Ipv4Addr> {
    value.parse().ok()
}

fn valid_netmask(value: &str, _: &()) -> garde::Result {
    netmask_prefix_len(value)
        .map(|_| ())
        .map_err(|e| garde::Error::new(e.to_string()))
}

fn gateway_in_subnet<'a>(
    address: &'a str,
    mask: &'a str,
) -> impl FnOnce(&String, &()) -> garde::Result + 'a {
    move |gateway, _| {
        // The other fields report their own errors.
        let (Some(addr), Some(gw), Ok(prefix)) = (
            parse_ipv4(address),
            parse_ipv4(gateway),
            netmask_prefix_len(mask),
        ) else {
            return Ok(());
        };
        if addr == gw {
            return Err(garde::Error::new("must differ from the address"));
        }
        if !same_subnet(addr, gw, prefix) {
            return Err(garde::Error::new(format!(
                "must be inside the address's subnet ({addr}/{prefix})"
            )));
        }
        Ok(())
    }
}

fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = prefix_mask(prefix);
    u32::from(a) & mask == u32::from(b) & mask
}

fn prefix_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetmaskError {
    Empty,
    PrefixOutOfRange(String),
    NotAnAddress(String),
    NotContiguous(String),
}

impl std::fmt::Display for NetmaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("netmask must not be empty"),
            Self::PrefixOutOfRange(v) => write!(f, "prefix length {v} is not between 0 and 32"),
            Self::NotAnAddress(v) => {
                write!(f, "{v:?} is neither a dotted netmask nor a prefix length")
            }
            Self::NotContiguous(v) => {
                write!(f, "netmask {v} is not contiguous ones followed by zeros")
            }
        }
    }
}

impl std::error::Error for NetmaskError {}

/// Prefix length of a netmask given dotted (`255.255.254.0`) or as a prefix (`/23` or `23`).
/// Counts the mask's one bits and rejects masks whose ones are not contiguous.
pub fn netmask_prefix_len(mask: &str) -> Result<u8, NetmaskError> {
    let mask = mask.trim();
    if mask.is_empty() {
        return Err(NetmaskError::Empty);
    }
    let bare = mask.strip_prefix('/').unwrap_or(mask);
    if !bare.is_empty() && bare.len() <= 2 && bare.chars().all(|c| c.is_ascii_digit()) {
        return match bare.parse::<u8>() {
            Ok(p) if p <= 32 => Ok(p),
            _ => Err(NetmaskError::PrefixOutOfRange(bare.to_owned())),
        };
    }
    let bits = parse_ipv4(mask)
        .map(u32::from)
        .ok_or_else(|| NetmaskError::NotAnAddress(mask.to_owned()))?;
    let ones = bits.leading_ones();
    // Contiguous means every bit after the leading ones is zero.
    if bits.count_ones() != ones {
        return Err(NetmaskError::NotContiguous(mask.to_owned()));
    }
    // At most 32, so the conversion cannot fail.
    u8::try_from(ones).map_err(|_| NetmaskError::NotContiguous(mask.to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Text rules shared by everything that reaches XML or a script

/// One-line text: no control characters (XML 1.0 cannot carry most of them, and a line break
/// in a name or command line is never intended).
pub fn plain_text(value: &str, _: &()) -> garde::Result {
    if value.chars().any(|c| c.is_control() || is_noncharacter(c)) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    Ok(())
}

/// Script text: like [`plain_text`] but tabs and line breaks are allowed.
pub fn script_text(value: &str, _: &()) -> garde::Result {
    if value
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\t' | '\r' | '\n')) || is_noncharacter(c))
    {
        return Err(garde::Error::new(
            "must not contain control characters other than tabs and line breaks",
        ));
    }
    Ok(())
}

fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::validation::field_errors;

    fn errors(profile: &UnattendProfileConfig) -> BTreeMap<String, Vec<String>> {
        match profile.validate() {
            Ok(()) => BTreeMap::new(),
            Err(report) => field_errors(&report),
        }
    }

    #[test]
    fn empty_object_is_the_default_profile_and_valid() {
        let profile: UnattendProfileConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(profile, UnattendProfileConfig::default());
        assert!(profile.validate().is_ok());
        assert_eq!(profile.user.password, "1204");
        assert_eq!(profile.user.auto_logon_count, 9_999_999);
        assert_eq!(profile.locale.time_zone, "Turkey Standard Time");
        assert_eq!(profile.custom_script.executable, "START.ps1");
        assert!(profile.windows_settings.disable_defender);
        assert!(!profile.windows_settings.enable_remote_desktop);
    }

    #[test]
    fn accepts_the_original_camel_case_shape() {
        let json = r#"{
            "user": {"nameMode": "custom", "customName": "Operator", "customNameSuffix": "random_digits",
                     "displayName": "Bot Operator", "password": "pw", "group": "Users", "autoLogonCount": 3},
            "computerName": {"mode": "custom", "customName": "BOT-01"},
            "locale": {"uiLanguage": "tr-TR", "inputLocales": ["041f:0000041f"], "timeZone": "UTC", "geoLocation": 84},
            "softwareRemoval": {"mode": "mixed", "fixedPackages": ["Microsoft.BingNews"], "randomPool": ["A"], "neverRemove": [], "randomCount": {"min": 1, "max": 2}},
            "capabilityRemoval": {"mode": "fixed", "fixedCapabilities": ["WMIC"]},
            "windowsSettings": {"disableDefender": false, "enableRemoteDesktop": true},
            "visualEffects": {"mode": "custom_randomize", "effects": {"cursorShadow": true, "fadeTooltips": false}},
            "desktopIcons": {"mode": "custom", "icons": {"thisPC": true}, "startFolders": {"personalFolder": true}, "deleteEdgeShortcut": false},
            "customScript": {"executable": "START.ps1", "delaySeconds": 0},
            "xmlTemplate": "<unattend/>",
            "unknownTopLevel": 1
        }"#;
        let profile: UnattendProfileConfig = serde_json::from_str(json).unwrap();
        assert!(profile.validate().is_ok(), "{:?}", errors(&profile));
        assert_eq!(profile.user.name_mode, UserNameMode::Custom);
        assert_eq!(profile.user.custom_name_suffix, NameSuffix::RandomDigits);
        assert_eq!(profile.user.group, AccountGroup::Users);
        assert_eq!(profile.computer_name.custom_name.as_deref(), Some("BOT-01"));
        assert_eq!(profile.locale.input_locales, vec!["041f:0000041f"]);
        assert_eq!(profile.software_removal.mode, RemovalMode::Mixed);
        assert_eq!(
            profile.software_removal.random_count,
            Some(CountRange { min: 1, max: 2 })
        );
        assert_eq!(profile.visual_effects.effects.cursor_shadow, Some(true));
        assert_eq!(profile.visual_effects.effects.fade_tooltips, Some(false));
        assert_eq!(profile.desktop_icons.icons.this_pc, Some(true));
        assert_eq!(
            profile.desktop_icons.start_folders.personal_folder,
            Some(true)
        );
        assert_eq!(profile.custom_script.delay_seconds, 0);
        assert!(profile.windows_settings.enable_remote_desktop);
        assert!(!profile.windows_settings.disable_defender);
        // Serialises back in snake_case.
        let out = serde_json::to_value(&profile).unwrap();
        assert_eq!(out["computer_name"]["custom_name"], "BOT-01");
        assert_eq!(out["user"]["auto_logon_count"], 3);
    }

    #[test]
    fn rejects_bad_computer_names_with_field_messages() {
        for (name, fragment) in [
            ("THIS-NAME-IS-TOO-LONG", "1 to 15"),
            ("BAD_NAME", "only letters"),
            ("BAD NAME", "only letters"),
            ("12345", "only of digits"),
            ("-BOT", "hyphen"),
            ("", "1 to 15"),
        ] {
            let mut profile = UnattendProfileConfig::default();
            profile.computer_name.mode = ComputerNameMode::Custom;
            profile.computer_name.custom_name = Some(name.to_owned());
            let errs = errors(&profile);
            let msgs = errs.get("computer_name.custom_name").unwrap();
            assert!(msgs[0].contains(fragment), "{name}: {msgs:?}");
        }
    }

    #[test]
    fn custom_modes_require_a_name() {
        let mut profile = UnattendProfileConfig::default();
        profile.computer_name.mode = ComputerNameMode::Custom;
        profile.user.name_mode = UserNameMode::Custom;
        let errs = errors(&profile);
        assert!(errs["computer_name.custom_name"][0].contains("required"));
        assert!(errs["user.custom_name"][0].contains("required"));
    }

    #[test]
    fn rejects_bad_user_names() {
        for (name, fragment) in [
            ("averyveryverylongusername", "1 to 20"),
            ("bad/name", "'/'"),
            ("bad@name", "'@'"),
            ("...", "dots and spaces"),
            (" padded", "start or end"),
            ("Administrator", "built-in"),
            ("tab\tname", "control"),
        ] {
            let mut profile = UnattendProfileConfig::default();
            profile.user.name_mode = UserNameMode::Custom;
            profile.user.custom_name = Some(name.to_owned());
            let errs = errors(&profile);
            let msgs = errs.get("user.custom_name").unwrap();
            assert!(msgs[0].contains(fragment), "{name}: {msgs:?}");
        }
    }

    #[test]
    fn user_name_leaves_room_for_the_random_suffix() {
        let mut profile = UnattendProfileConfig::default();
        profile.user.name_mode = UserNameMode::Custom;
        profile.user.custom_name = Some("Seventeen-Letters".to_owned());
        assert!(errors(&profile).is_empty());
        profile.user.custom_name_suffix = NameSuffix::RandomDigits;
        assert!(errors(&profile)["user.custom_name"][0].contains("at most 16"));
    }

    #[test]
    fn rejects_blank_time_zone_and_bad_locale_values() {
        let mut profile = UnattendProfileConfig::default();
        profile.locale.time_zone = "  ".to_owned();
        profile.locale.ui_language = "english".to_owned();
        profile.locale.input_locales = vec!["0409-00000409".to_owned()];
        profile.locale.keyboard_layouts = vec![KeyboardLayout {
            language: "409".to_owned(),
            layout: "00000409".to_owned(),
        }];
        let errs = errors(&profile);
        assert_eq!(errs["locale.time_zone"], vec!["must not be blank"]);
        assert!(errs["locale.ui_language"][0].contains("language tag"));
        assert!(errs["locale.input_locales[0]"][0].contains("language:layout"));
        assert!(errs.contains_key("locale.keyboard_layouts[0].language"));
    }

    #[test]
    fn rejects_bad_product_key_and_edition_with_index() {
        let mut profile = UnattendProfileConfig::default();
        profile.windows.product_key = Some("VK7JG-NPHTM-C97JM-9MPGT".to_owned());
        profile.windows.edition = Some("Windows 11 Pro".to_owned());
        profile.windows.image_index = Some(6);
        let errs = errors(&profile);
        assert!(errs["windows.product_key"][0].contains("five groups"));
        assert!(errs["windows.edition"][0].contains("not both"));
    }

    #[test]
    fn rejects_inverted_random_count_and_out_of_range_numbers() {
        let mut profile = UnattendProfileConfig::default();
        profile.software_removal.random_count = Some(CountRange { min: 15, max: 5 });
        profile.custom_script.delay_seconds = 601;
        profile.user.auto_logon_count = 0;
        profile.oobe.protect_your_pc = 4;
        let errs = errors(&profile);
        assert!(errs["software_removal.random_count.max"][0].contains("less than min"));
        assert!(errs.contains_key("custom_script.delay_seconds"));
        assert!(errs.contains_key("user.auto_logon_count"));
        assert!(errs.contains_key("oobe.protect_your_pc"));
    }

    #[test]
    fn first_logon_cmd_commands_are_single_lines() {
        let mut profile = UnattendProfileConfig::default();
        profile.first_logon_commands = vec![
            FirstLogonCommand {
                description: None,
                kind: CommandKind::Cmd,
                command: "echo one\r\necho two".to_owned(),
            },
            FirstLogonCommand {
                description: None,
                kind: CommandKind::Powershell,
                command: "Write-Host one\r\nWrite-Host two".to_owned(),
            },
            FirstLogonCommand {
                description: None,
                kind: CommandKind::Cmd,
                command: " ".to_owned(),
            },
        ];
        let errs = errors(&profile);
        assert!(errs["first_logon_commands[0].command"][0].contains("one line"));
        assert!(!errs.contains_key("first_logon_commands[1].command"));
        assert_eq!(
            errs["first_logon_commands[2].command"],
            vec!["must not be blank"]
        );
    }

    #[test]
    fn custom_script_executable_must_be_a_plain_file_name() {
        for bad in ["..\\evil.ps1", "START", "run me.ps1", "x.vbs", "C:/x.exe"] {
            let mut profile = UnattendProfileConfig::default();
            profile.custom_script.executable = bad.to_owned();
            assert!(
                errors(&profile).contains_key("custom_script.executable"),
                "{bad}"
            );
        }
    }

    #[test]
    fn user_debug_redacts_passwords() {
        let mut user = UserAccountConfig::default();
        user.password = "hunter2".to_owned();
        user.administrator_password = Some("s3cret".to_owned());
        let text = format!("{user:?}");
        assert!(!text.contains("hunter2") && !text.contains("s3cret"));
    }

    #[test]
    fn netmask_prefix_lengths() {
        for (mask, prefix) in [
            ("255.255.255.0", 24),
            ("255.255.254.0", 23),
            ("255.255.255.255", 32),
            ("0.0.0.0", 0),
            ("255.0.0.0", 8),
            ("255.255.255.252", 30),
            ("/24", 24),
            ("16", 16),
            (" 255.255.128.0 ", 17),
        ] {
            assert_eq!(netmask_prefix_len(mask), Ok(prefix), "{mask}");
        }
        assert_eq!(
            netmask_prefix_len("255.0.255.0"),
            Err(NetmaskError::NotContiguous("255.0.255.0".to_owned()))
        );
        assert!(matches!(
            netmask_prefix_len("/33"),
            Err(NetmaskError::PrefixOutOfRange(_))
        ));
        assert!(matches!(
            netmask_prefix_len("255.255.255"),
            Err(NetmaskError::NotAnAddress(_))
        ));
        assert!(matches!(
            netmask_prefix_len("0.255.255.255"),
            Err(NetmaskError::NotContiguous(_))
        ));
        assert_eq!(netmask_prefix_len(""), Err(NetmaskError::Empty));
    }

    #[test]
    fn vm_ip_settings_are_validated() {
        let vm: ProvisionVm = serde_json::from_str(
            r#"{"vm_uuid": "4c4c4544-0042-3510-8052-b4c04f4e4d32",
                "ip": {"address": "10.0.5.20", "gateway": "10.0.5.1"}}"#,
        )
        .unwrap();
        assert!(vm.validate().is_ok());
        let ip = vm.ip.unwrap();
        assert_eq!(ip.netmask, "255.255.255.0");
        assert_eq!(ip.dns, vec!["8.8.8.8"]);

        let bad = ProvisionVm {
            vm_uuid: "uuid with spaces".to_owned(),
            vm_name: None,
            ip: Some(ProvisionIp {
                address: "10.0.5.300".to_owned(),
                netmask: "255.0.255.0".to_owned(),
                gateway: "10.0.6.1".to_owned(),
                dns: vec!["dns.example".to_owned()],
            }),
            sequence: None,
        };
        let errs = field_errors(&bad.validate().unwrap_err());
        assert!(errs.contains_key("vm_uuid"));
        assert!(errs["ip.address"][0].contains("IPv4"));
        assert!(errs["ip.netmask"][0].contains("contiguous"));
        assert!(errs["ip.dns[0]"][0].contains("IPv4"));

        let outside = ProvisionIp {
            address: "10.0.5.20".to_owned(),
            netmask: "/24".to_owned(),
            gateway: "10.0.6.1".to_owned(),
            dns: vec![],
        };
        let errs = field_errors(&outside.validate().unwrap_err());
        assert!(errs["gateway"][0].contains("10.0.5.20/24"));
    }
}
