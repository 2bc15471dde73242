//! Unattended Windows provisioning: everything a new VM's config ISO carries, generated from an
//! unattend profile and the VM's identity. Pure: typed inputs in, bytes out; no I/O, no clock
//! (the caller passes the timestamp) and no hidden randomness (the caller passes the seed).
//!
//! - [`resolve`] makes every per-VM choice (names, removal lists, effects, all randomness);
//! - [`unattend`] renders `autounattend.xml`;
//! - [`first_logon`] and [`settings_script`] plan the first-logon commands and their scripts;
//! - [`bootstrap`] renders `provision.json` and `START.ps1`;
//! - [`iso`] packs the ISO 9660 + Joliet image.
//!
//! Around them, the HTTP domain: [`http`] (routes), [`service`] (profiles, tokens, progress)
//! and [`store`] (SQL).

pub mod bootstrap;
pub mod first_logon;
pub mod http;
pub mod powershell;
pub mod resolve;
pub mod service;
pub mod settings_script;
pub mod store;
pub mod unattend;

use std::collections::BTreeMap;

use botmox_contract::provisioning::{ProvisionVm, UnattendProfileConfig};
use botmox_contract::validation::field_errors;
use chrono::{DateTime, Utc};
use garde::Validate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use url::Url;

pub use bootstrap::{ProvisionFile, api_endpoint, provision_file, provision_json, start_script};
pub use botmox_iso::{IsoError, build_iso};
pub use first_logon::{
    COMMAND_LINE_MAX, FirstLogonPlan, LogonCommand, ScriptFile, plan_first_logon,
};
pub use http::{public_routes, routes};
pub use resolve::{ResolvedProfile, resolve};
pub use service::ProvisioningService;
pub use unattend::{PasswordKind, encode_password, render_autounattend};

/// Where the first logon copies the config ISO on the VM.
pub const SETUP_DIR: &str = r"C:\WindowsSetup";
/// Volume label of the config ISO.
pub const VOLUME_LABEL: &str = "BOTMOX_CFG";
pub const AUTOUNATTEND_XML: &str = "autounattend.xml";
pub const PROVISION_JSON: &str = "provision.json";
/// The playbook the setup app runs after Windows is installed.
pub const PLAYBOOK_YML: &str = "playbook.yml";
pub const START_PS1: &str = resolve::BOOTSTRAP_SCRIPT;
/// Longest provisioning token accepted.
const TOKEN_MAX: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    /// Field-level validation failures of the profile (`{"user.custom_name": [...]}`).
    #[error("invalid unattend profile")]
    InvalidProfile(BTreeMap<String, Vec<String>>),
    /// Field-level validation failures of the VM target.
    #[error("invalid VM target")]
    InvalidVm(BTreeMap<String, Vec<String>>),
    /// A value assembled from valid parts came out invalid (e.g. name + suffix too long).
    #[error("{field}: {message}")]
    Resolved {
        field: &'static str,
        message: String,
    },
    #[error("the sequential user name suffix needs the VM's sequence number")]
    MissingSequence,
    #[error("network mode static needs the VM's IP settings")]
    MissingStaticIp,
    #[error("public server URL {0}")]
    PublicUrl(String),
    #[error("provisioning token must be 1 to 4096 printable characters")]
    InvalidToken,
    #[error("text cannot be written to XML: {0}")]
    XmlText(String),
    #[error("XML writer: {0}")]
    Xml(String),
    #[error("JSON writer: {0}")]
    Json(String),
    #[error(transparent)]
    Iso(#[from] IsoError),
}

/// One file of the payload, by its path on the ISO.
#[derive(Clone, PartialEq, Eq)]
pub struct PayloadFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for PayloadFile {
    // `provision.json` holds the token: show sizes, never content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PayloadFile({}, {} bytes)", self.path, self.bytes.len())
    }
}

/// Everything generated for one VM.
#[derive(Clone)]
pub struct ProvisioningPayload {
    /// `autounattend.xml`, `provision.json`, `START.ps1`, then the script files.
    pub files: Vec<PayloadFile>,
    pub iso_bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `iso_bytes`.
    pub sha256: String,
    /// The values the VM will get, for the UI.
    pub computer_name: String,
    pub username: String,
}

impl std::fmt::Debug for ProvisioningPayload {
    // The ISO embeds the token: show its size and hash only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisioningPayload")
            .field("files", &self.files)
            .field("iso_bytes", &self.iso_bytes.len())
            .field("sha256", &self.sha256)
            .field("computer_name", &self.computer_name)
            .field("username", &self.username)
            .finish()
    }
}

impl ProvisioningPayload {
    pub fn file(&self, path: &str) -> Option<&PayloadFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Validates the inputs, resolves the profile with an RNG seeded by `seed`, renders every file
/// and packs them into the config ISO dated `timestamp`. The same inputs give the same bytes.
pub fn build_payload(
    profile: &UnattendProfileConfig,
    vm: &ProvisionVm,
    token: &str,
    public_url: &Url,
    seed: u64,
    timestamp: DateTime<Utc>,
) -> Result<ProvisioningPayload, ProvisioningError> {
    build_payload_with(profile, vm, token, public_url, seed, timestamp, Vec::new())
}

/// [`build_payload`] with further files on the ISO (e.g. `playbook.yml`); the first logon
/// copies the whole ISO to `C:\WindowsSetup`, so they land next to `START.ps1`.
pub fn build_payload_with(
    profile: &UnattendProfileConfig,
    vm: &ProvisionVm,
    token: &str,
    public_url: &Url,
    seed: u64,
    timestamp: DateTime<Utc>,
    extra: Vec<PayloadFile>,
) -> Result<ProvisioningPayload, ProvisioningError> {
    let mut files = build_files(profile, vm, token, public_url, seed)?;
    files.files.extend(extra);
    let iso_bytes = build_iso(
        files
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.bytes.as_slice())),
        VOLUME_LABEL,
        timestamp,
    )?;
    let sha256 = hex::encode(Sha256::digest(&iso_bytes));
    Ok(ProvisioningPayload {
        files: files.files,
        iso_bytes,
        sha256,
        computer_name: files.computer_name,
        username: files.username,
    })
}

/// The payload files without the ISO.
#[derive(Debug, Clone)]
pub struct PayloadFiles {
    pub files: Vec<PayloadFile>,
    pub computer_name: String,
    pub username: String,
}

/// Validates the inputs and renders every payload file (see [`build_payload`]).
pub fn build_files(
    profile: &UnattendProfileConfig,
    vm: &ProvisionVm,
    token: &str,
    public_url: &Url,
    seed: u64,
) -> Result<PayloadFiles, ProvisioningError> {
    profile
        .validate()
        .map_err(|r| ProvisioningError::InvalidProfile(field_errors(&r)))?;
    vm.validate()
        .map_err(|r| ProvisioningError::InvalidVm(field_errors(&r)))?;
    if token.is_empty()
        || token.len() > TOKEN_MAX
        || token.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ProvisioningError::InvalidToken);
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let resolved = resolve(profile, vm, &mut rng)?;
    let plan = plan_first_logon(&resolved);
    let xml = render_autounattend(&resolved, &plan.commands)?;
    let provision = provision_file(&resolved, vm, token, public_url)?;
    let start = start_script(&resolved, vm);

    let mut files = vec![
        PayloadFile {
            path: AUTOUNATTEND_XML.to_owned(),
            bytes: xml.into_bytes(),
        },
        PayloadFile {
            path: PROVISION_JSON.to_owned(),
            bytes: provision_json(&provision)?,
        },
        PayloadFile {
            path: START_PS1.to_owned(),
            bytes: powershell::script_file(&start),
        },
    ];
    files.extend(plan.files.into_iter().map(|f| PayloadFile {
        path: f.name,
        bytes: f.bytes,
    }));
    Ok(PayloadFiles {
        files,
        computer_name: resolved.computer_name,
        username: resolved.username,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use chrono::TimeZone;

    use super::*;

    fn vm() -> ProvisionVm {
        ProvisionVm {
            vm_uuid: "4c4c4544-0042-3510-8052-b4c04f4e4d32".to_owned(),
            vm_name: None,
            ip: None,
            sequence: None,
        }
    }

    fn url() -> Url {
        Url::parse("https://botmox.example.com").unwrap()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    #[test]
    fn payload_is_deterministic_and_hashed() {
        let profile = UnattendProfileConfig::default();
        let a = build_payload(&profile, &vm(), "token", &url(), 42, at()).unwrap();
        let b = build_payload(&profile, &vm(), "token", &url(), 42, at()).unwrap();
        assert_eq!(a.iso_bytes, b.iso_bytes);
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.sha256, hex::encode(Sha256::digest(&a.iso_bytes)));
        let paths: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "autounattend.xml",
                "provision.json",
                "START.ps1",
                "FirstLogon.ps1"
            ]
        );
        let other = build_payload(&profile, &vm(), "token", &url(), 43, at()).unwrap();
        assert_ne!(a.computer_name, other.computer_name);
    }

    #[test]
    fn invalid_inputs_are_refused_with_fields() {
        let mut profile = UnattendProfileConfig::default();
        profile.locale.time_zone = String::new();
        match build_payload(&profile, &vm(), "token", &url(), 0, at()) {
            Err(ProvisioningError::InvalidProfile(fields)) => {
                assert!(fields.contains_key("locale.time_zone"));
            }
            other => panic!("{other:?}"),
        }
        let profile = UnattendProfileConfig::default();
        assert!(matches!(
            build_payload(&profile, &vm(), "two words", &url(), 0, at()),
            Err(ProvisioningError::InvalidToken)
        ));
        let local = Url::parse("http://127.0.0.1:3001").unwrap();
        assert!(matches!(
            build_payload(&profile, &vm(), "token", &local, 0, at()),
            Err(ProvisioningError::PublicUrl(_))
        ));
        let mut bad_vm = vm();
        bad_vm.vm_uuid = String::new();
        assert!(matches!(
            build_payload(&profile, &bad_vm, "token", &url(), 0, at()),
            Err(ProvisioningError::InvalidVm(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let payload = build_payload(
            &UnattendProfileConfig::default(),
            &vm(),
            "s3cr3t-token",
            &url(),
            0,
            at(),
        )
        .unwrap();
        assert!(!format!("{payload:?}").contains("s3cr3t-token"));
    }
}
