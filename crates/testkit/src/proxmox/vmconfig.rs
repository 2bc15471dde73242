//! The VM configuration vocabulary: which keys exist, how values are typed on the wire, and how
//! drive strings (`local-lvm:vm-100-disk-0,size=32G`) are read and rewritten.

use std::collections::BTreeMap;

use rand::Rng;

use super::params::parse_bool;

pub(crate) const KIB: u64 = 1024;
pub(crate) const MIB: u64 = KIB * 1024;
pub(crate) const GIB: u64 = MIB * 1024;
pub(crate) const TIB: u64 = GIB * 1024;

const NAMED_KEYS: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "amd-sev",
    "arch",
    "args",
    "audio0",
    "autostart",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
    "cicustom",
    "cipassword",
    "citype",
    "ciupgrade",
    "ciuser",
    "cores",
    "cpu",
    "cpulimit",
    "cpuunits",
    "description",
    "efidisk0",
    "freeze",
    "hookscript",
    "hotplug",
    "hugepages",
    "ivshmem",
    "keephugepages",
    "keyboard",
    "kvm",
    "localtime",
    "lock",
    "machine",
    "memory",
    "meta",
    "migrate_downtime",
    "migrate_speed",
    "name",
    "nameserver",
    "numa",
    "onboot",
    "ostype",
    "protection",
    "reboot",
    "rng0",
    "scsihw",
    "searchdomain",
    "shares",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "startdate",
    "startup",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "vcpus",
    "vga",
    "vmgenid",
    "vmstatestorage",
    "watchdog",
];

/// Indexed keys and the largest index Proxmox allows for each.
const INDEXED_KEYS: &[(&str, u32)] = &[
    ("net", 31),
    ("ide", 3),
    ("sata", 5),
    ("scsi", 30),
    ("virtio", 15),
    ("unused", 255),
    ("usb", 13),
    ("hostpci", 15),
    ("serial", 3),
    ("parallel", 2),
    ("ipconfig", 31),
    ("numa", 7),
    ("virtiofs", 9),
];

const DRIVE_PREFIXES: &[(&str, u32)] = &[("ide", 3), ("sata", 5), ("scsi", 30), ("virtio", 15)];

const INTEGER_KEYS: &[&str] = &[
    "cores",
    "sockets",
    "vcpus",
    "balloon",
    "cpuunits",
    "shares",
    "migrate_speed",
];

const BOOLEAN_KEYS: &[&str] = &[
    "acpi",
    "autostart",
    "freeze",
    "kvm",
    "localtime",
    "numa",
    "onboot",
    "protection",
    "reboot",
    "tablet",
    "template",
];

fn indexed(key: &str, table: &[(&str, u32)]) -> bool {
    table.iter().any(|(prefix, max)| {
        key.strip_prefix(prefix)
            .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .filter(|rest| rest.len() == 1 || !rest.starts_with('0'))
            .and_then(|rest| rest.parse::<u32>().ok())
            .is_some_and(|n| n <= *max)
    })
}

pub(crate) fn is_config_key(key: &str) -> bool {
    NAMED_KEYS.contains(&key) || indexed(key, INDEXED_KEYS)
}

/// Keys whose value is a drive (disk or CD-ROM).
pub(crate) fn is_drive_key(key: &str) -> bool {
    key == "efidisk0" || key == "tpmstate0" || indexed(key, DRIVE_PREFIXES)
}

/// Checks one value against the key's type; returns the message Proxmox would attach to it.
pub(crate) fn validate_value(key: &str, value: &str) -> Result<(), String> {
    if INTEGER_KEYS.contains(&key) {
        let n: i64 = value
            .trim()
            .parse()
            .map_err(|_| format!("type check ('integer') failed - got '{value}'"))?;
        let min = if key == "cores" || key == "sockets" || key == "vcpus" {
            1
        } else {
            0
        };
        if n < min {
            return Err(format!("value must have a minimum value of {min}"));
        }
    } else if BOOLEAN_KEYS.contains(&key) {
        parse_bool(value)
            .ok_or_else(|| format!("type check ('boolean') failed - got '{value}'"))?;
    } else if key == "memory" {
        let amount = value.strip_prefix("current=").unwrap_or(value);
        let mib: u64 = amount
            .parse()
            .map_err(|_| format!("value '{value}' does not match the memory format"))?;
        if mib < 16 {
            return Err("value must have a minimum value of 16".to_owned());
        }
    } else if key == "name" && !is_dns_name(value) {
        return Err("invalid format - value does not look like a valid DNS name".to_owned());
    } else if is_drive_key(key) && value.split(',').next().is_none_or(str::is_empty) {
        return Err("invalid format - format error".to_owned());
    }
    Ok(())
}

/// The `dns-name` format: dot-separated labels of letters, digits and inner hyphens.
pub(crate) fn is_dns_name(value: &str) -> bool {
    !value.is_empty()
        && value.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        })
}

/// Proxmox renders integers and booleans as JSON numbers; everything else stays a string.
pub(crate) fn wire_value(key: &str, value: &str) -> serde_json::Value {
    if INTEGER_KEYS.contains(&key)
        && let Ok(n) = value.trim().parse::<i64>()
    {
        return n.into();
    }
    if BOOLEAN_KEYS.contains(&key)
        && let Some(b) = parse_bool(value)
    {
        return i64::from(b).into();
    }
    value.into()
}

/// A parsed drive value: the volume (or `none`/`cdrom`) followed by `key=value` options.
#[derive(Debug, Clone)]
pub(crate) struct Drive {
    pub volume: String,
    pub options: Vec<(String, String)>,
}

impl Drive {
    pub(crate) fn parse(value: &str) -> Self {
        let mut parts = value.split(',');
        let first = parts.next().unwrap_or_default();
        // `file=` may spell out the volume explicitly.
        let mut volume = first.strip_prefix("file=").unwrap_or(first).to_owned();
        let mut options = Vec::new();
        for part in parts {
            match part.split_once('=') {
                Some(("file", v)) => volume = v.to_owned(),
                Some((k, v)) => options.push((k.to_owned(), v.to_owned())),
                None => options.push((part.to_owned(), String::new())),
            }
        }
        Self { volume, options }
    }

    pub(crate) fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn set_option(&mut self, key: &str, value: String) {
        match self.options.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.options.push((key.to_owned(), value)),
        }
    }

    pub(crate) fn is_cdrom(&self) -> bool {
        self.option("media") == Some("cdrom") || self.volume == "cdrom"
    }

    /// `storage:volname` for drives backed by a volume; `None` for `none`/`cdrom`/device paths.
    pub(crate) fn volid(&self) -> Option<(&str, &str)> {
        self.volume
            .split_once(':')
            .filter(|(storage, name)| !storage.is_empty() && !name.is_empty())
    }

    pub(crate) fn size(&self) -> Option<u64> {
        self.option("size").and_then(parse_size)
    }

    pub(crate) fn render(&self) -> String {
        let mut out = self.volume.clone();
        for (k, v) in &self.options {
            out.push(',');
            out.push_str(k);
            if !v.is_empty() {
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }
}

/// Allocation syntax `storage:SIZE_GIB` asks Proxmox to create a new volume.
pub(crate) fn allocation_request(drive: &Drive) -> Option<(String, u64)> {
    let (storage, size) = drive.volume.split_once(':')?;
    let gib: f64 = size.parse().ok()?;
    if storage.is_empty() || gib <= 0.0 {
        return None;
    }
    // Whole bytes are all that matter here; fractional GiB round down like Perl's int().
    Some((storage.to_owned(), (gib * GIB as f64) as u64))
}

/// Parses `32G`, `512M`, `1.5T`, plain bytes.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], Some(c.to_ascii_uppercase())),
        _ => (text, None),
    };
    let value: f64 = number.parse().ok()?;
    let factor = match unit {
        None => 1,
        Some('K') => KIB,
        Some('M') => MIB,
        Some('G') => GIB,
        Some('T') => TIB,
        Some(_) => return None,
    };
    (value >= 0.0).then_some((value * factor as f64) as u64)
}

/// Renders a byte count the way `qm config` shows disk sizes: the largest exact unit.
pub(crate) fn format_size(bytes: u64) -> String {
    for (factor, unit) in [(TIB, "T"), (GIB, "G"), (MIB, "M"), (KIB, "K")] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// Resize's `size` parameter (`\+?\d+(\.\d+)?[KMGT]?`): `+10G` grows by, `64G` grows to.
pub(crate) fn parse_resize(text: &str) -> Option<(bool, u64)> {
    let (relative, rest) = text.strip_prefix('+').map_or((false, text), |r| (true, r));
    let number = rest.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(rest);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let mut parts = number.split('.');
    let whole = parts.next().is_some_and(digits);
    let fraction = parts.next().is_none_or(digits);
    if !whole || !fraction || parts.next().is_some() {
        return None;
    }
    parse_size(rest).map(|bytes| (relative, bytes))
}

/// Proxmox hands out MACs from its own OUI.
pub(crate) fn random_mac() -> String {
    let mut rng = rand::rng();
    format!(
        "BC:24:11:{:02X}:{:02X}:{:02X}",
        rng.random::<u8>(),
        rng.random::<u8>(),
        rng.random::<u8>()
    )
}

/// Replaces the MAC in a `net*` value (`virtio=AA:…,bridge=vmbr0`) with a fresh one.
pub(crate) fn with_new_mac(net: &str) -> String {
    let mut parts: Vec<String> = net.split(',').map(str::to_owned).collect();
    if let Some(first) = parts.first_mut() {
        match first.split_once('=') {
            Some((model, _)) if model != "bridge" => *first = format!("{model}={}", random_mac()),
            Some(_) => {}
            None => *first = format!("{first}={}", random_mac()),
        }
    }
    parts.join(",")
}

/// Sets `uuid=` in an `smbios1` value, keeping its other fields.
pub(crate) fn with_new_smbios_uuid(smbios: Option<&str>) -> String {
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut fields: Vec<String> = smbios
        .unwrap_or_default()
        .split(',')
        .filter(|f| !f.is_empty() && !f.starts_with("uuid="))
        .map(str::to_owned)
        .collect();
    fields.insert(0, format!("uuid={uuid}"));
    fields.join(",")
}

/// The config as `key: value` lines, the text its digest is computed over.
pub(crate) fn render_conf(config: &BTreeMap<String, String>) -> String {
    config.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// Memory in MiB from `memory: 4096` or `memory: current=4096`; Proxmox's default is 512.
pub(crate) fn memory_mib(config: &BTreeMap<String, String>) -> u64 {
    config
        .get("memory")
        .and_then(|m| m.strip_prefix("current=").unwrap_or(m).parse().ok())
        .unwrap_or(512)
}

pub(crate) fn cpu_count(config: &BTreeMap<String, String>) -> u64 {
    let get = |k: &str, d: u64| config.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    config
        .get("vcpus")
        .and_then(|v| v.parse().ok())
        .unwrap_or(get("cores", 1) * get("sockets", 1))
}

/// The boot disk's size: the first disk in `boot: order=…`, else the first disk found.
pub(crate) fn boot_disk_size(config: &BTreeMap<String, String>) -> u64 {
    let disk = |key: &str| {
        config
            .get(key)
            .map(|v| Drive::parse(v))
            .filter(|d| !d.is_cdrom() && d.volid().is_some())
    };
    let from_order = config
        .get("boot")
        .and_then(|b| b.strip_prefix("order="))
        .into_iter()
        .flat_map(|order| order.split(';'))
        .find_map(&disk);
    let any = || {
        config
            .keys()
            .filter(|k| is_drive_key(k))
            .find_map(|k| disk(k))
    };
    from_order.or_else(any).and_then(|d| d.size()).unwrap_or(0)
}

/// Every volume a config references (live disks and `unusedN`), with its size when known.
pub(crate) fn volumes(config: &BTreeMap<String, String>) -> Vec<(String, String, Option<u64>)> {
    config
        .iter()
        .filter(|(k, _)| is_drive_key(k) || k.starts_with("unused"))
        .filter_map(|(key, value)| {
            let drive = Drive::parse(value);
            if drive.is_cdrom() {
                return None;
            }
            let (storage, name) = drive.volid()?;
            Some((key.clone(), format!("{storage}:{name}"), drive.size()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_render_like_qm() {
        assert_eq!(parse_size("32G"), Some(32 * GIB));
        assert_eq!(parse_size("1.5T"), Some(1536 * GIB));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("5X"), None);
        assert_eq!(format_size(64 * GIB), "64G");
        assert_eq!(format_size(1536 * MIB), "1536M");
        assert_eq!(format_size(2 * TIB), "2T");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn resize_sizes_follow_the_api_pattern() {
        assert_eq!(parse_resize("+10G"), Some((true, 10 * GIB)));
        assert_eq!(parse_resize("64G"), Some((false, 64 * GIB)));
        assert_eq!(parse_resize("+0.5G"), Some((true, GIB / 2)));
        for bad in ["", "+", "G", "10GB", "-5G", "1.G", "1..2G"] {
            assert_eq!(parse_resize(bad), None, "{bad}");
        }
    }

    #[test]
    fn drives_round_trip_and_know_their_volume() {
        let mut drive = Drive::parse("local-lvm:vm-100-disk-0,size=32G,serial=123");
        assert_eq!(drive.volid(), Some(("local-lvm", "vm-100-disk-0")));
        assert_eq!(drive.size(), Some(32 * GIB));
        assert!(!drive.is_cdrom());
        drive.set_option("size", "40G".to_owned());
        assert_eq!(
            drive.render(),
            "local-lvm:vm-100-disk-0,size=40G,serial=123"
        );
        let cdrom = Drive::parse("none,media=cdrom");
        assert!(cdrom.is_cdrom() && cdrom.volid().is_none());
        assert_eq!(
            allocation_request(&Drive::parse("local-lvm:16,iothread=1")),
            Some(("local-lvm".to_owned(), 16 * GIB))
        );
        assert_eq!(
            allocation_request(&Drive::parse("local-lvm:vm-1-disk-0")),
            None
        );
    }

    #[test]
    fn config_keys_and_values_are_checked() {
        for key in [
            "cores", "net0", "net31", "sata5", "scsi30", "unused3", "efidisk0",
        ] {
            assert!(is_config_key(key), "{key}");
        }
        for key in ["net32", "sata6", "net01", "timeoutMs", "ide"] {
            assert!(!is_config_key(key), "{key}");
        }
        assert!(validate_value("cores", "4").is_ok());
        assert!(validate_value("cores", "0").is_err());
        assert!(validate_value("memory", "current=4096").is_ok());
        assert!(validate_value("onboot", "yes").is_ok());
        assert!(validate_value("name", "WoW-1.lab").is_ok());
        assert!(validate_value("name", "bad_name").is_err());
        assert_eq!(wire_value("cores", "2"), serde_json::json!(2));
        assert_eq!(wire_value("onboot", "true"), serde_json::json!(1));
        assert_eq!(wire_value("memory", "4096"), serde_json::json!("4096"));
    }

    #[test]
    fn new_mac_keeps_model_and_options() {
        let net = with_new_mac("e1000=AA:BB:CC:DD:EE:FF,bridge=vmbr3,firewall=1");
        assert!(
            net.starts_with("e1000=BC:24:11:") && net.ends_with(",bridge=vmbr3,firewall=1"),
            "{net}"
        );
        let smbios = with_new_smbios_uuid(Some("uuid=old,manufacturer=QUJD"));
        assert!(
            smbios.ends_with(",manufacturer=QUJD") && !smbios.contains("old"),
            "{smbios}"
        );
    }
}
