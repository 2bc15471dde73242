//! Storages and the files they hold. VM disk volumes are not stored here: they are derived from
//! the VM configs, so a clone or delete shows up in the content listing without extra bookkeeping.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::vmconfig::GIB;

/// How a storage is declared: `local` is a `dir` storage for ISOs, `local-lvm` an `lvmthin` one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSpec {
    pub name: String,
    /// Proxmox plugin type: `dir`, `lvmthin`, `nfs`, …
    pub kind: String,
    /// Content types: `iso`, `vztmpl`, `backup`, `images`, `rootdir`, `snippets`, `import`.
    pub content: Vec<String>,
    pub shared: bool,
    pub total_bytes: u64,
}

impl StorageSpec {
    pub fn new(name: &str, kind: &str, content: &[&str], total_bytes: u64) -> Self {
        Self {
            name: name.to_owned(),
            kind: kind.to_owned(),
            content: content.iter().map(|c| (*c).to_owned()).collect(),
            shared: false,
            total_bytes,
        }
    }

    /// The `local` directory storage of a fresh install.
    pub fn local_dir() -> Self {
        Self::new(
            "local",
            "dir",
            &["iso", "vztmpl", "backup", "import"],
            100 * GIB,
        )
    }

    /// The `local-lvm` thin pool of a fresh install.
    pub fn local_lvm() -> Self {
        Self::new("local-lvm", "lvmthin", &["images", "rootdir"], 400 * GIB)
    }

    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }

    pub(crate) fn supports(&self, content: &str) -> bool {
        self.content.iter().any(|c| c == content)
    }

    /// Storages with a filesystem path accept uploads; block storages (LVM, …) do not.
    pub(crate) fn has_path(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "dir" | "nfs" | "cifs" | "cephfs" | "glusterfs" | "btrfs"
        )
    }

    /// Where `pvesm path` would put an uploaded file, shown in task logs.
    pub(crate) fn dir_for(&self, content: &str) -> String {
        let base = if self.name == "local" {
            "/var/lib/vz".to_owned()
        } else {
            format!("/mnt/pve/{}", self.name)
        };
        match content {
            "iso" => format!("{base}/template/iso"),
            "vztmpl" => format!("{base}/template/cache"),
            other => format!("{base}/{other}"),
        }
    }
}

/// A file stored on a storage (ISO image, container template, …), as inspection returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// `local:iso/name.iso`
    pub volid: String,
    /// `iso`, `vztmpl`, …
    pub content: String,
    pub size: u64,
    pub ctime: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub bytes: Bytes,
    pub ctime: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Storage {
    pub spec: StorageSpec,
    /// Keyed by volume name inside the storage: `iso/name.iso`.
    pub files: BTreeMap<String, FileEntry>,
}

impl Storage {
    pub(crate) fn new(spec: StorageSpec) -> Self {
        Self {
            spec,
            files: BTreeMap::new(),
        }
    }

    pub(crate) fn file_bytes_used(&self) -> u64 {
        self.files.values().map(|f| f.bytes.len() as u64).sum()
    }

    pub(crate) fn listing(&self) -> Vec<StoredFile> {
        self.files
            .iter()
            .map(|(volname, entry)| StoredFile {
                volid: format!("{}:{volname}", self.spec.name),
                content: content_of(volname).to_owned(),
                size: entry.bytes.len() as u64,
                ctime: entry.ctime,
            })
            .collect()
    }
}

/// `iso/x.iso` → `iso`; `vztmpl/x.tar.zst` → `vztmpl`.
pub(crate) fn content_of(volname: &str) -> &str {
    volname.split_once('/').map_or("images", |(dir, _)| dir)
}

/// The `format` field of a content listing entry.
pub(crate) fn format_of(volname: &str) -> &'static str {
    let lower = volname.to_ascii_lowercase();
    if lower.ends_with(".iso") || lower.ends_with(".img") {
        "iso"
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        "tgz"
    } else if lower.ends_with(".tar.zst") {
        "tzst"
    } else if lower.ends_with(".tar.xz") {
        "txz"
    } else if lower.ends_with(".tar") {
        "tar"
    } else if lower.ends_with(".qcow2") {
        "qcow2"
    } else if lower.ends_with(".vmdk") {
        "vmdk"
    } else if lower.ends_with(".ova") {
        "ova"
    } else {
        "raw"
    }
}

/// Splits `local:iso/x.iso` into (`local`, `iso/x.iso`).
pub(crate) fn split_volid(volid: &str) -> Option<(&str, &str)> {
    volid
        .split_once(':')
        .filter(|(s, v)| !s.is_empty() && !v.is_empty())
}
