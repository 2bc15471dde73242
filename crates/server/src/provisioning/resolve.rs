//! Turns a profile into the concrete values one VM gets. Every random choice is made here, in a
//! fixed order from one RNG, so a seed reproduces the VM exactly and the renderers stay pure.

use botmox_contract::provisioning::{
    COMPUTER_NAME_MAX, ComputerNameMode, CountRange, DesktopIconsMode, NameSuffix, ProvisionVm,
    RemovalMode, USER_NAME_MAX, UnattendProfileConfig, UserNameMode, VisualEffectToggles,
    VisualEffectsMode, check_computer_name, check_user_name,
};
use rand::Rng;
use rand::seq::index;

use super::ProvisioningError;

const ADJECTIVES: [&str; 16] = [
    "Quick", "Silent", "Brave", "Clever", "Sharp", "Bold", "Keen", "Swift", "Lucky", "Noble",
    "Calm", "Warm", "Cool", "Grand", "Prime", "Fair",
];
const NOUNS: [&str; 16] = [
    "Fox", "Hawk", "Wolf", "Bear", "Lynx", "Deer", "Sage", "Oak", "Elm", "Pine", "Star", "Moon",
    "Dawn", "Ash", "Jay", "Wren",
];
const NAME_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

const FIXED_USER_NAME: &str = "User";
const FIXED_COMPUTER_NAME: &str = "WIN-PC";
const DEFAULT_INPUT_LOCALE: &str = "0409:00000409";
const PACKAGE_COUNT_DEFAULT: CountRange = CountRange { min: 5, max: 15 };
const CAPABILITY_COUNT_DEFAULT: CountRange = CountRange { min: 3, max: 10 };
/// The bootstrap the config ISO always carries.
pub const BOOTSTRAP_SCRIPT: &str = "START.ps1";
/// The original schema's default executable, which no ISO ever contained.
const LEGACY_EXECUTABLE: &str = "START.exe";

/// The concrete values one VM gets from a profile.
#[derive(Debug, Clone)]
pub struct ResolvedProfile<'a> {
    pub profile: &'a UnattendProfileConfig,
    pub username: String,
    pub display_name: String,
    pub computer_name: String,
    /// `0409:00000409;041f:0000041f`.
    pub input_locale: String,
    pub system_locale: String,
    pub user_locale: String,
    pub packages: Vec<String>,
    pub capabilities: Vec<String>,
    /// `None` leaves Windows' visual effects alone.
    pub visual_effects: Option<Vec<(VisualEffect, bool)>>,
    /// `None` leaves Windows' desktop icons alone.
    pub desktop_icons: Option<Vec<(DesktopIcon, bool)>>,
    /// Only the folders the profile names.
    pub start_folders: Vec<(StartFolder, bool)>,
    /// File in `C:\WindowsSetup` launched at the end of the first logon.
    pub launch_executable: String,
}

/// Resolves `profile` for `vm`. Draws from `rng` in a fixed order: user name, computer name,
/// packages, capabilities, visual effects, desktop icons.
pub fn resolve<'a, R: Rng + ?Sized>(
    profile: &'a UnattendProfileConfig,
    vm: &ProvisionVm,
    rng: &mut R,
) -> Result<ResolvedProfile<'a>, ProvisioningError> {
    let username = resolve_user_name(profile, vm.sequence, rng)?;
    let computer_name = resolve_computer_name(profile, rng)?;
    let display_name = profile
        .user
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| username.clone(), str::to_owned);

    let locale = &profile.locale;
    let input_locale = if !locale.keyboard_layouts.is_empty() {
        let parts: Vec<String> = locale
            .keyboard_layouts
            .iter()
            .map(|k| format!("{}:{}", k.language, k.layout))
            .collect();
        parts.join(";")
    } else if !locale.input_locales.is_empty() {
        locale.input_locales.join(";")
    } else {
        DEFAULT_INPUT_LOCALE.to_owned()
    };

    let sw = &profile.software_removal;
    let packages = removal_list(
        sw.mode,
        &sw.fixed_packages,
        &sw.random_pool,
        &sw.never_remove,
        sw.random_count.unwrap_or(PACKAGE_COUNT_DEFAULT),
        rng,
    );
    let caps = &profile.capability_removal;
    let capabilities = removal_list(
        caps.mode,
        &caps.fixed_capabilities,
        &caps.random_pool,
        &caps.never_remove,
        caps.random_count.unwrap_or(CAPABILITY_COUNT_DEFAULT),
        rng,
    );

    let visual_effects = resolve_visual_effects(profile, rng);
    let (desktop_icons, start_folders) = resolve_desktop_icons(profile, rng);

    let executable = profile.custom_script.executable.trim();
    let launch_executable = if executable.is_empty() || executable == LEGACY_EXECUTABLE {
        BOOTSTRAP_SCRIPT.to_owned()
    } else {
        executable.to_owned()
    };

    Ok(ResolvedProfile {
        profile,
        username,
        display_name,
        computer_name,
        input_locale,
        system_locale: locale
            .system_locale
            .clone()
            .unwrap_or_else(|| locale.ui_language.clone()),
        user_locale: locale
            .user_locale
            .clone()
            .unwrap_or_else(|| locale.ui_language.clone()),
        packages,
        capabilities,
        visual_effects,
        desktop_icons,
        start_folders,
        launch_executable,
    })
}

/// The local account name: `User`, the custom name (+ suffix) or `<Adjective><Noun><NN>`.
pub fn resolve_user_name<R: Rng + ?Sized>(
    profile: &UnattendProfileConfig,
    sequence: Option<u32>,
    rng: &mut R,
) -> Result<String, ProvisioningError> {
    let user = &profile.user;
    let custom = user
        .custom_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let name = match (user.name_mode, custom) {
        (UserNameMode::Fixed, _) => FIXED_USER_NAME.to_owned(),
        (UserNameMode::Custom, Some(base)) => {
            let suffix = match user.custom_name_suffix {
                NameSuffix::None => String::new(),
                NameSuffix::RandomDigits => {
                    let len = rng.random_range(2..=4);
                    (0..len)
                        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                        .collect()
                }
                NameSuffix::Sequential => sequence
                    .ok_or(ProvisioningError::MissingSequence)?
                    .to_string(),
            };
            format!("{base}{suffix}")
        }
        (UserNameMode::Random | UserNameMode::Custom, _) => random_user_name(rng),
    };
    check_user_name(&name).map_err(|e| ProvisioningError::Resolved {
        field: "user.custom_name",
        message: format!("{name:?} {}", e.message()),
    })?;
    debug_assert!(name.chars().count() <= USER_NAME_MAX);
    Ok(name)
}

/// `<Adjective><Noun><NN>` with NN in 10..=98.
pub fn random_user_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    let adjective = ADJECTIVES[rng.random_range(0..ADJECTIVES.len())];
    let noun = NOUNS[rng.random_range(0..NOUNS.len())];
    let number = rng.random_range(10..=98);
    format!("{adjective}{noun}{number}")
}

/// `WIN-PC`, the custom name, or the prefix filled to 15 characters with random `[A-Z0-9]`.
pub fn resolve_computer_name<R: Rng + ?Sized>(
    profile: &UnattendProfileConfig,
    rng: &mut R,
) -> Result<String, ProvisioningError> {
    let config = &profile.computer_name;
    let custom = config
        .custom_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let name = match (config.mode, custom) {
        (ComputerNameMode::Fixed, _) => FIXED_COMPUTER_NAME.to_owned(),
        (ComputerNameMode::Custom, Some(name)) => name.to_owned(),
        (ComputerNameMode::Random | ComputerNameMode::Custom, _) => {
            random_computer_name(&config.random_prefix, rng)
        }
    };
    check_computer_name(&name).map_err(|e| ProvisioningError::Resolved {
        field: "computer_name",
        message: format!("{name:?} {}", e.message()),
    })?;
    Ok(name)
}

/// `prefix` (upper-cased) + random `[A-Z0-9]` up to 15 characters. When the prefix has no
/// letter the first random character is a letter, so the name is never all digits.
pub fn random_computer_name<R: Rng + ?Sized>(prefix: &str, rng: &mut R) -> String {
    let mut name: String = prefix
        .to_ascii_uppercase()
        .chars()
        .take(COMPUTER_NAME_MAX)
        .collect();
    let mut needs_letter = !name.chars().any(|c| c.is_ascii_alphabetic());
    while name.len() < COMPUTER_NAME_MAX {
        let alphabet = if needs_letter {
            &NAME_ALPHABET[..26]
        } else {
            NAME_ALPHABET
        };
        name.push(char::from(alphabet[rng.random_range(0..alphabet.len())]));
        needs_letter = false;
    }
    name
}

/// The removal list of one section: fixed, a random subset of the pool, or both; never
/// containing a `never_remove` entry (compared case-insensitively).
fn removal_list<R: Rng + ?Sized>(
    mode: RemovalMode,
    fixed: &[String],
    pool: &[String],
    never: &[String],
    count: CountRange,
    rng: &mut R,
) -> Vec<String> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let mut list: Vec<String> = Vec::new();
    let push = |item: &str, list: &mut Vec<String>| {
        let item = item.trim();
        if !list.iter().any(|l| same(l, item)) && !never.iter().any(|n| same(n, item)) {
            list.push(item.to_owned());
        }
    };
    match mode {
        RemovalMode::Fixed => fixed.iter().for_each(|f| push(f, &mut list)),
        RemovalMode::Random => {
            for item in random_subset(pool, count, rng) {
                push(item, &mut list);
            }
        }
        RemovalMode::Mixed | RemovalMode::FixedRandom => {
            fixed.iter().for_each(|f| push(f, &mut list));
            let rest: Vec<String> = pool
                .iter()
                .filter(|p| !fixed.iter().any(|f| same(f, p)))
                .cloned()
                .collect();
            for item in random_subset(&rest, count, rng) {
                push(item, &mut list);
            }
        }
    }
    list
}

/// A uniformly chosen subset of `pool`, its size uniform in `count` clipped to the pool size,
/// kept in pool order.
fn random_subset<'p, R: Rng + ?Sized>(
    pool: &'p [String],
    count: CountRange,
    rng: &mut R,
) -> Vec<&'p str> {
    if pool.is_empty() {
        return Vec::new();
    }
    let len = pool.len();
    let max = (count.max as usize).min(len);
    let min = (count.min as usize).min(max);
    let amount = rng.random_range(min..=max);
    let mut picked = index::sample(rng, len, amount).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| pool[i].as_str()).collect()
}

/// The Performance Options check boxes, in the order they are resolved and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisualEffect {
    AnimateControls,
    AnimateMinMax,
    AnimateTaskbar,
    AeroPeek,
    FontSmoothing,
    DragFullWindows,
    ListBoxSmoothScrolling,
    CursorShadow,
    ThumbnailPreviews,
    Translucent,
    IconShadow,
    SaveThumbnails,
    PeekDesktop,
    WindowShadow,
    FadeMenuItems,
    FadeTooltips,
    FadeAfterClick,
    ComboBoxSlide,
}

impl VisualEffect {
    pub const ALL: [VisualEffect; 18] = [
        Self::AnimateControls,
        Self::AnimateMinMax,
        Self::AnimateTaskbar,
        Self::AeroPeek,
        Self::FontSmoothing,
        Self::DragFullWindows,
        Self::ListBoxSmoothScrolling,
        Self::CursorShadow,
        Self::ThumbnailPreviews,
        Self::Translucent,
        Self::IconShadow,
        Self::SaveThumbnails,
        Self::PeekDesktop,
        Self::WindowShadow,
        Self::FadeMenuItems,
        Self::FadeTooltips,
        Self::FadeAfterClick,
        Self::ComboBoxSlide,
    ];

    fn toggle(self, t: &VisualEffectToggles) -> Option<bool> {
        match self {
            Self::AnimateControls => t.animate_controls,
            Self::AnimateMinMax => t.animate_min_max,
            Self::AnimateTaskbar => t.animate_taskbar,
            Self::AeroPeek => t.aeropeek,
            Self::FontSmoothing => t.font_smoothing,
            Self::DragFullWindows => t.drag_full_windows,
            Self::ListBoxSmoothScrolling => t.list_box_smooth_scrolling,
            Self::CursorShadow => t.cursor_shadow,
            Self::ThumbnailPreviews => t.thumbnail_previews,
            Self::Translucent => t.translucent,
            Self::IconShadow => t.icon_shadow,
            Self::SaveThumbnails => t.save_thumbnails,
            Self::PeekDesktop => t.peek_desktop,
            Self::WindowShadow => t.window_shadow,
            Self::FadeMenuItems => t.fade_menu_items,
            Self::FadeTooltips => t.fade_tooltips,
            Self::FadeAfterClick => t.fade_after_click,
            Self::ComboBoxSlide => t.combo_box_slide,
        }
    }
}

fn resolve_visual_effects<R: Rng + ?Sized>(
    profile: &UnattendProfileConfig,
    rng: &mut R,
) -> Option<Vec<(VisualEffect, bool)>> {
    let config = &profile.visual_effects;
    let mut toggles = config.effects.clone();
    // The older top-level fields fill in what `effects` leaves open.
    toggles.cursor_shadow = toggles.cursor_shadow.or(config.cursor_shadow);
    toggles.font_smoothing = toggles.font_smoothing.or(config.font_smoothing);
    let pick = |effect: VisualEffect, rng: &mut R| -> Option<bool> {
        match config.mode {
            VisualEffectsMode::Default | VisualEffectsMode::Balanced => None,
            VisualEffectsMode::Appearance => Some(true),
            VisualEffectsMode::Performance => Some(false),
            VisualEffectsMode::Custom => Some(effect.toggle(&toggles).unwrap_or(false)),
            VisualEffectsMode::CustomRandomize | VisualEffectsMode::Random => Some(
                effect
                    .toggle(&toggles)
                    .unwrap_or_else(|| rng.random_bool(0.5)),
            ),
        }
    };
    if matches!(
        config.mode,
        VisualEffectsMode::Default | VisualEffectsMode::Balanced
    ) {
        return None;
    }
    VisualEffect::ALL
        .iter()
        .map(|e| pick(*e, rng).map(|on| (*e, on)))
        .collect()
}

/// Desktop icons that can be shown or hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesktopIcon {
    ThisPc,
    RecycleBin,
    UserFiles,
    ControlPanel,
    Network,
}

impl DesktopIcon {
    pub const ALL: [DesktopIcon; 5] = [
        Self::ThisPc,
        Self::RecycleBin,
        Self::UserFiles,
        Self::ControlPanel,
        Self::Network,
    ];
}

/// Folders next to the Start menu's power button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFolder {
    Documents,
    Downloads,
    Music,
    Pictures,
    Videos,
    PersonalFolder,
    Settings,
    FileExplorer,
    Network,
}

type IconPlan = (Option<Vec<(DesktopIcon, bool)>>, Vec<(StartFolder, bool)>);

fn resolve_desktop_icons<R: Rng + ?Sized>(
    profile: &UnattendProfileConfig,
    rng: &mut R,
) -> IconPlan {
    let config = &profile.desktop_icons;
    let has_legacy = config.recycle_bin.is_some() || config.this_pc.is_some();
    let mode = config.mode.unwrap_or(if has_legacy {
        DesktopIconsMode::Custom
    } else {
        DesktopIconsMode::Default
    });
    let icons = &config.icons;
    let choice = |icon: DesktopIcon| match icon {
        DesktopIcon::ThisPc => icons.this_pc.or(config.this_pc),
        DesktopIcon::RecycleBin => icons.recycle_bin.or(config.recycle_bin),
        DesktopIcon::UserFiles => icons.user_files,
        DesktopIcon::ControlPanel => icons.control_panel,
        DesktopIcon::Network => icons.network,
    };
    let desktop = match mode {
        DesktopIconsMode::Default => None,
        DesktopIconsMode::Custom => Some(
            DesktopIcon::ALL
                .iter()
                .map(|i| (*i, choice(*i).unwrap_or(false)))
                .collect(),
        ),
        DesktopIconsMode::CustomRandomize => Some(
            DesktopIcon::ALL
                .iter()
                .map(|i| (*i, choice(*i).unwrap_or_else(|| rng.random_bool(0.5))))
                .collect(),
        ),
    };
    let f = &config.start_folders;
    let folders = [
        (StartFolder::Documents, f.documents),
        (StartFolder::Downloads, f.downloads),
        (StartFolder::Music, f.music),
        (StartFolder::Pictures, f.pictures),
        (StartFolder::Videos, f.videos),
        (StartFolder::PersonalFolder, f.personal_folder),
        (StartFolder::Settings, f.settings),
        (StartFolder::FileExplorer, f.file_explorer),
        (StartFolder::Network, f.network),
    ]
    .into_iter()
    .filter_map(|(folder, on)| on.map(|on| (folder, on)))
    .collect();
    (desktop, folders)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use botmox_contract::provisioning::{AccountGroup, KeyboardLayout, SoftwareRemovalConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn vm() -> ProvisionVm {
        ProvisionVm {
            vm_uuid: "vm-1".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        }
    }

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn same_seed_same_names_different_seed_different_names() {
        let profile = UnattendProfileConfig::default();
        let a = resolve(&profile, &vm(), &mut rng(7)).unwrap();
        let b = resolve(&profile, &vm(), &mut rng(7)).unwrap();
        assert_eq!(a.username, b.username);
        assert_eq!(a.computer_name, b.computer_name);
        let names: std::collections::HashSet<String> = (0..20)
            .map(|s| resolve(&profile, &vm(), &mut rng(s)).unwrap().computer_name)
            .collect();
        assert!(names.len() > 15, "random names repeat too often: {names:?}");
    }

    #[test]
    fn random_computer_names_are_15_valid_characters() {
        let mut r = rng(1);
        for prefix in ["DESKTOP-", "", "bot-", "12345678901"] {
            for _ in 0..200 {
                let name = random_computer_name(prefix, &mut r);
                assert_eq!(name.len(), COMPUTER_NAME_MAX, "{name}");
                assert!(name.starts_with(&prefix.to_ascii_uppercase()));
                assert!(check_computer_name(&name).is_ok(), "{name}");
            }
        }
    }

    #[test]
    fn random_user_names_follow_the_pattern() {
        let mut r = rng(2);
        for _ in 0..200 {
            let name = random_user_name(&mut r);
            let digits: String = name.chars().filter(char::is_ascii_digit).collect();
            let number: u32 = digits.parse().unwrap();
            assert!((10..=98).contains(&number), "{name}");
            assert!(name.ends_with(&digits));
            assert!(ADJECTIVES.iter().any(|a| name.starts_with(a)), "{name}");
            assert!(name.len() <= USER_NAME_MAX);
        }
    }

    #[test]
    fn fixed_and_custom_names() {
        let mut profile = UnattendProfileConfig::default();
        profile.user.name_mode = UserNameMode::Fixed;
        profile.computer_name.mode = ComputerNameMode::Fixed;
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        assert_eq!(
            (r.username.as_str(), r.computer_name.as_str()),
            ("User", "WIN-PC")
        );
        assert_eq!(r.display_name, "User");

        profile.user.name_mode = UserNameMode::Custom;
        profile.user.custom_name = Some("Operator".to_owned());
        profile.user.custom_name_suffix = NameSuffix::RandomDigits;
        profile.computer_name.mode = ComputerNameMode::Custom;
        profile.computer_name.custom_name = Some("BOT-07".to_owned());
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        let digits = r.username.strip_prefix("Operator").unwrap();
        assert!((2..=4).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(r.computer_name, "BOT-07");
        assert_eq!(r.profile.user.group, AccountGroup::Administrators);
    }

    #[test]
    fn sequential_suffix_needs_the_vm_sequence() {
        let mut profile = UnattendProfileConfig::default();
        profile.user.name_mode = UserNameMode::Custom;
        profile.user.custom_name = Some("Bot".to_owned());
        profile.user.custom_name_suffix = NameSuffix::Sequential;
        assert!(matches!(
            resolve(&profile, &vm(), &mut rng(0)),
            Err(ProvisioningError::MissingSequence)
        ));
        let mut numbered = vm();
        numbered.sequence = Some(12);
        assert_eq!(
            resolve(&profile, &numbered, &mut rng(0)).unwrap().username,
            "Bot12"
        );
        numbered.sequence = Some(u32::MAX);
        profile.user.custom_name = Some("SixteenCharsName".to_owned());
        assert!(matches!(
            resolve(&profile, &numbered, &mut rng(0)),
            Err(ProvisioningError::Resolved {
                field: "user.custom_name",
                ..
            })
        ));
    }

    #[test]
    fn input_locale_prefers_keyboard_layouts() {
        let mut profile = UnattendProfileConfig::default();
        assert_eq!(
            resolve(&profile, &vm(), &mut rng(0)).unwrap().input_locale,
            "0409:00000409"
        );
        profile.locale.input_locales = vec!["041f:0000041f".to_owned()];
        assert_eq!(
            resolve(&profile, &vm(), &mut rng(0)).unwrap().input_locale,
            "041f:0000041f"
        );
        profile.locale.keyboard_layouts = vec![
            KeyboardLayout {
                language: "0409".to_owned(),
                layout: "00000409".to_owned(),
            },
            KeyboardLayout {
                language: "0419".to_owned(),
                layout: "00000419".to_owned(),
            },
        ];
        assert_eq!(
            resolve(&profile, &vm(), &mut rng(0)).unwrap().input_locale,
            "0409:00000409;0419:00000419"
        );
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn removal_lists_respect_mode_counts_and_never_remove() {
        let pool = strings(&["A", "B", "C", "D", "E", "F", "G", "H"]);
        let mut profile = UnattendProfileConfig::default();
        profile.software_removal = SoftwareRemovalConfig {
            mode: RemovalMode::FixedRandom,
            fixed_packages: strings(&["X", "A", "x"]),
            random_pool: pool.clone(),
            never_remove: strings(&["b"]),
            random_count: Some(CountRange { min: 2, max: 3 }),
        };
        for seed in 0..50 {
            let r = resolve(&profile, &vm(), &mut rng(seed)).unwrap();
            assert_eq!(&r.packages[..2], ["X", "A"], "fixed first, de-duplicated");
            let random = &r.packages[2..];
            // Up to 3 picks from the pool minus the fixed "A"; "B" may be picked and dropped.
            assert!(random.len() <= 3, "{:?}", r.packages);
            assert!(
                random
                    .iter()
                    .all(|p| pool.contains(p) && p != "A" && p != "B")
            );
        }
        profile.software_removal.mode = RemovalMode::Fixed;
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        assert_eq!(r.packages, ["X", "A"]);
        profile.software_removal.mode = RemovalMode::Random;
        profile.software_removal.random_count = Some(CountRange { min: 20, max: 30 });
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        assert_eq!(r.packages.len(), 7, "the whole pool except never_remove");
    }

    #[test]
    fn visual_effects_by_mode() {
        let mut profile = UnattendProfileConfig::default();
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        assert!(
            r.visual_effects.unwrap().iter().all(|(_, on)| !on),
            "performance = all off"
        );
        profile.visual_effects.mode = VisualEffectsMode::Balanced;
        assert!(
            resolve(&profile, &vm(), &mut rng(0))
                .unwrap()
                .visual_effects
                .is_none()
        );
        profile.visual_effects.mode = VisualEffectsMode::Custom;
        profile.visual_effects.font_smoothing = Some(true);
        let effects = resolve(&profile, &vm(), &mut rng(0))
            .unwrap()
            .visual_effects
            .unwrap();
        let on: Vec<VisualEffect> = effects
            .iter()
            .filter(|(_, on)| *on)
            .map(|(e, _)| *e)
            .collect();
        assert_eq!(on, [VisualEffect::FontSmoothing]);
        profile.visual_effects.mode = VisualEffectsMode::CustomRandomize;
        let mixed = (0..10).any(|s| {
            let effects = resolve(&profile, &vm(), &mut rng(s))
                .unwrap()
                .visual_effects
                .unwrap();
            effects.iter().any(|(_, on)| *on) && effects.iter().any(|(_, on)| !*on)
        });
        assert!(mixed);
    }

    #[test]
    fn desktop_icons_legacy_fields_imply_custom_mode() {
        let mut profile = UnattendProfileConfig::default();
        assert!(
            resolve(&profile, &vm(), &mut rng(0))
                .unwrap()
                .desktop_icons
                .is_none()
        );
        profile.desktop_icons.recycle_bin = Some(true);
        profile.desktop_icons.start_folders.downloads = Some(false);
        let r = resolve(&profile, &vm(), &mut rng(0)).unwrap();
        let icons = r.desktop_icons.unwrap();
        assert!(icons.contains(&(DesktopIcon::RecycleBin, true)));
        assert!(icons.contains(&(DesktopIcon::ThisPc, false)));
        assert_eq!(r.start_folders, [(StartFolder::Downloads, false)]);
    }

    #[test]
    fn legacy_start_exe_launches_the_bootstrap() {
        let mut profile = UnattendProfileConfig::default();
        profile.custom_script.executable = "START.exe".to_owned();
        assert_eq!(
            resolve(&profile, &vm(), &mut rng(0))
                .unwrap()
                .launch_executable,
            "START.ps1"
        );
        profile.custom_script.executable = "runner.exe".to_owned();
        assert_eq!(
            resolve(&profile, &vm(), &mut rng(0))
                .unwrap()
                .launch_executable,
            "runner.exe"
        );
    }
}
