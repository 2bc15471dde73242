//! The config ISO: ISO 9660 (level 1: 8.3 upper-case names with `;1`) plus a Joliet tree with
//! the real names, built in memory with `hadris-iso`. Windows Setup reads the Joliet tree, so
//! `autounattend.xml` and the scripts keep their names; the primary tree is the fallback for
//! readers without Joliet. The output depends only on the files, label and timestamp.

use chrono::{DateTime, Utc};
use hadris_fs::{Content, Node, Tree};
use hadris_iso::{IsoId, IsoLevel, IsoOptions};
use hadris_storage::{BlockSize, MemDevice};

/// ISO 9660 sector size.
pub const SECTOR: usize = 2048;
/// Longest Joliet name in UCS-2 units (64 is the limit every reader accepts).
const JOLIET_NAME_MAX: usize = 64;
/// Longest label that fits both the primary (32 d-characters) and Joliet (16 UCS-2) fields.
const LABEL_MAX: usize = 16;
/// ISO 9660 allows eight directory levels.
const DEPTH_MAX: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    #[error("volume label {0:?} must be 1 to 16 of A-Z, 0-9 and _")]
    Label(String),
    #[error("file path {path:?}: {reason}")]
    Path { path: String, reason: &'static str },
    #[error("file path {0:?} appears twice (names are compared case-insensitively)")]
    Duplicate(String),
    #[error("timestamp {0} cannot be written to an ISO")]
    Timestamp(DateTime<Utc>),
    #[error("ISO writer: {0}")]
    Write(String),
}

/// Builds an ISO image of `files` (`/`-separated paths relative to the root).
pub fn build_iso<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    volume_label: &str,
    timestamp: DateTime<Utc>,
) -> Result<Vec<u8>, IsoError> {
    check_label(volume_label)?;
    let mut tree = Tree::new();
    let mut seen: Vec<String> = Vec::new();
    for (path, bytes) in files {
        check_path(path)?;
        let folded = path.to_lowercase();
        if seen.contains(&folded) {
            return Err(IsoError::Duplicate(path.to_owned()));
        }
        seen.push(folded);
        tree.insert(path, Node::file(Content::bytes(bytes.to_vec())))
            .map_err(|e| IsoError::Write(format!("{path}: {e}")))?;
    }

    let time = hadris_fs::DateTime::from_unix_seconds(timestamp.timestamp())
        .map_err(|_| IsoError::Timestamp(timestamp))?;
    let options = IsoOptions::default()
        .with_level(IsoLevel::L1)
        .with_joliet()
        .with_id(IsoId::Volume, volume_label)
        .with_time(time);

    let report = hadris_iso::plan(&tree, &options).map_err(|e| IsoError::Write(e.to_string()))?;
    // A renamed or dropped Joliet entry would break the paths the scripts use.
    if let Some(warning) = report.warnings().first() {
        return Err(IsoError::Write(warning.to_string()));
    }
    let size = usize::try_from(report.size())
        .map_err(|_| IsoError::Write("image too large".to_owned()))?;
    let block = BlockSize::new(SECTOR as u32)
        .ok_or_else(|| IsoError::Write("invalid block size".to_owned()))?;
    let mut device = MemDevice::new(vec![0u8; size], block);
    hadris_iso::sync::write(&mut device, &tree, &options)
        .map_err(|e| IsoError::Write(e.to_string()))?;
    Ok(device.into_inner())
}

fn check_label(label: &str) -> Result<(), IsoError> {
    let ok = !label.is_empty()
        && label.len() <= LABEL_MAX
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(IsoError::Label(label.to_owned()))
    }
}

fn check_path(path: &str) -> Result<(), IsoError> {
    let fail = |reason| {
        Err(IsoError::Path {
            path: path.to_owned(),
            reason,
        })
    };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > DEPTH_MAX {
        return fail("is nested deeper than 8 levels");
    }
    for part in parts {
        if part.is_empty() || part == "." || part == ".." {
            return fail("has an empty, . or .. component");
        }
        if part.encode_utf16().count() > JOLIET_NAME_MAX {
            return fail("has a name longer than 64 characters");
        }
        // Characters Windows refuses in names, control characters, and anything outside the
        // Basic Multilingual Plane (Joliet stores UCS-2).
        if part
            .chars()
            .any(|c| c.is_control() || "\\:*?\"<>|;".contains(c) || u32::from(c) > 0xFFFF)
        {
            return fail("has a character Windows or Joliet cannot store");
        }
        if part.ends_with('.') || part.ends_with(' ') {
            return fail("has a name ending in a dot or space");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

    use chrono::TimeZone;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    fn sample() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("autounattend.xml", b"<unattend/>\n".as_slice()),
            ("provision.json", b"{}\n".as_slice()),
            ("START.ps1", b"Write-Host 'hi'\r\n".as_slice()),
            ("scripts/LogonCommand02.cmd", b"@echo off\r\n".as_slice()),
        ]
    }

    fn u32_both(bytes: &[u8]) -> (u32, u32) {
        (
            u32::from_le_bytes(bytes[0..4].try_into().unwrap()),
            u32::from_be_bytes(bytes[4..8].try_into().unwrap()),
        )
    }

    /// A directory record: (extent, size, flags, identifier bytes).
    fn records(image: &[u8], extent: u32, size: u32) -> Vec<(u32, u32, u8, Vec<u8>)> {
        let start = extent as usize * SECTOR;
        let data = &image[start..start + size as usize];
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let len = data[at] as usize;
            if len == 0 {
                at = (at / SECTOR + 1) * SECTOR; // records never span sectors
                continue;
            }
            let r = &data[at..at + len];
            let id_len = r[32] as usize;
            out.push((
                u32_both(&r[2..10]).0,
                u32_both(&r[10..18]).0,
                r[25],
                r[33..33 + id_len].to_vec(),
            ));
            at += len;
        }
        out
    }

    #[test]
    fn descriptors_path_tables_and_names() {
        let image = build_iso(sample(), "BOTMOX_CFG", at()).unwrap();
        assert_eq!(image.len() % SECTOR, 0);
        let pvd = &image[16 * SECTOR..17 * SECTOR];
        assert_eq!(&pvd[0..7], b"\x01CD001\x01", "primary volume descriptor");
        assert_eq!(&pvd[40..50], b"BOTMOX_CFG");
        let (space_le, space_be) = u32_both(&pvd[80..88]);
        assert_eq!(space_le, space_be);
        assert_eq!(space_le as usize * SECTOR, image.len(), "volume space size");
        assert_eq!(
            u16::from_le_bytes([pvd[128], pvd[129]]),
            2048,
            "logical block size"
        );
        assert_eq!(
            &pvd[813..827],
            b"20260102030405",
            "creation date from the timestamp"
        );

        // Type L and type M path tables describe the same directories.
        let table_len = u32::from_le_bytes(pvd[132..136].try_into().unwrap()) as usize;
        let l_at = u32::from_le_bytes(pvd[140..144].try_into().unwrap()) as usize * SECTOR;
        let m_at = u32::from_be_bytes(pvd[148..152].try_into().unwrap()) as usize * SECTOR;
        let (l, m) = (
            &image[l_at..l_at + table_len],
            &image[m_at..m_at + table_len],
        );
        let mut dirs = Vec::new();
        let mut i = 0;
        while i < table_len {
            let id_len = l[i] as usize;
            assert_eq!(m[i], l[i]);
            let l_extent = u32::from_le_bytes(l[i + 2..i + 6].try_into().unwrap());
            let m_extent = u32::from_be_bytes(m[i + 2..i + 6].try_into().unwrap());
            assert_eq!(l_extent, m_extent);
            dirs.push(l[i + 8..i + 8 + id_len].to_vec());
            i += 8 + id_len + id_len % 2;
        }
        assert_eq!(
            dirs,
            vec![vec![0u8], b"SCRIPTS".to_vec()],
            "root, then SCRIPTS"
        );

        // Primary names: upper-case 8.3 with ;1.
        let root = &pvd[156..190];
        let (root_extent, root_size) = (u32_both(&root[2..10]).0, u32_both(&root[10..18]).0);
        let names: Vec<String> = records(&image, root_extent, root_size)
            .into_iter()
            .skip(2)
            .map(|r| String::from_utf8(r.3).unwrap())
            .collect();
        assert_eq!(
            names,
            ["AUTOUNAT.XML;1", "PROVISIO.JSO;1", "SCRIPTS", "START.PS1;1"]
        );

        // Joliet: supplementary descriptor with the UCS-2 level 3 escape, real names.
        let svd = &image[17 * SECTOR..18 * SECTOR];
        assert_eq!(&svd[0..7], b"\x02CD001\x01");
        assert_eq!(&svd[88..91], b"%/E");
        let label: Vec<u16> = svd[40..60]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(
            String::from_utf16(&label).unwrap(),
            "BOTMOX_CFG",
            "Joliet label (UCS-2)"
        );
        let root = &svd[156..190];
        let joliet: Vec<(u32, u32, String)> =
            records(&image, u32_both(&root[2..10]).0, u32_both(&root[10..18]).0)
                .into_iter()
                .skip(2)
                .map(|(extent, size, _, id)| {
                    let units: Vec<u16> = id
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    (extent, size, String::from_utf16(&units).unwrap())
                })
                .collect();
        let joliet_names: Vec<&str> = joliet.iter().map(|j| j.2.as_str()).collect();
        assert_eq!(
            joliet_names,
            ["START.ps1", "autounattend.xml", "provision.json", "scripts"]
        );
        let (extent, size, _) = &joliet[1];
        let start = *extent as usize * SECTOR;
        assert_eq!(&image[start..start + *size as usize], b"<unattend/>\n");

        let terminator = &image[18 * SECTOR..19 * SECTOR];
        assert_eq!(&terminator[0..6], b"\xFFCD001");
    }

    #[test]
    fn deterministic_for_the_same_inputs() {
        let a = build_iso(sample(), "BOTMOX_CFG", at()).unwrap();
        let b = build_iso(sample(), "BOTMOX_CFG", at()).unwrap();
        assert_eq!(a, b);
        let later = build_iso(sample(), "BOTMOX_CFG", at() + chrono::Duration::seconds(1)).unwrap();
        assert_ne!(a, later);
    }

    #[test]
    fn rejects_bad_labels_and_paths() {
        for label in ["", "botmox", "BOTMOX-CFG", "A_VERY_LONG_LABEL_X"] {
            assert!(
                matches!(build_iso(sample(), label, at()), Err(IsoError::Label(_))),
                "{label}"
            );
        }
        for path in [
            "",
            "a//b",
            "../x",
            "a\\b",
            "what?.txt",
            "x".repeat(65).as_str(),
            "trailing.",
            "emoji\u{1F600}.txt",
        ] {
            let files = vec![(path, b"x".as_slice())];
            assert!(
                matches!(build_iso(files, "CFG", at()), Err(IsoError::Path { .. })),
                "{path}"
            );
        }
        let dup = vec![
            ("Start.ps1", b"a".as_slice()),
            ("START.PS1", b"b".as_slice()),
        ];
        assert!(matches!(
            build_iso(dup, "CFG", at()),
            Err(IsoError::Duplicate(_))
        ));
    }
}
