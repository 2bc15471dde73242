//! Results the server has not confirmed, kept in a small file next to the config so they
//! survive a restart of the agent and are re-sent (the server accepts a repeated result with
//! the same lease epoch as a no-op).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use botmox_contract::agent_ws::Inbound;
use tracing::warn;

pub(super) fn path_for(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("pending-results.json")
}

pub(super) fn load(path: &Path) -> BTreeMap<String, Inbound> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => {
            warn!(error = %e, path = %path.display(), "cannot read undelivered results");
            return BTreeMap::new();
        }
    };
    match serde_json::from_str::<Vec<Inbound>>(&text) {
        Ok(list) => list
            .into_iter()
            .filter_map(|m| match &m {
                Inbound::Result { command_id, .. } => Some((command_id.clone(), m)),
                _ => None,
            })
            .collect(),
        Err(e) => {
            warn!(error = %e, path = %path.display(), "ignoring an unreadable undelivered-results file");
            BTreeMap::new()
        }
    }
}

pub(super) fn save(path: &Path, pending: &BTreeMap<String, Inbound>) {
    let outcome = if pending.is_empty() {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow::Error::from(e)),
            _ => Ok(()),
        }
    } else {
        let list: Vec<&Inbound> = pending.values().collect();
        serde_json::to_vec(&list)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| crate::config::write_private(path, &bytes))
    };
    if let Err(e) = outcome {
        warn!(error = %format!("{e:#}"), path = %path.display(), "cannot save undelivered results");
    }
}
