//! Pairing inputs: a base64url bundle, a `botmox://pair?bundle=…` URI, a
//! `<server>/agent/pair?bundle=…` URL, or a bare code (the server then comes from `--server`).

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use serde_json::Value;

/// What a pairing input tells the agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PairingInput {
    pub code: String,
    pub server_url: Option<String>,
    pub proxmox: Option<ProxmoxHints>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxmoxHints {
    pub url: Option<String>,
    pub username: Option<String>,
    pub node: Option<String>,
}

/// Parses any of the four forms. A bare code has no server URL.
pub fn parse(input: &str) -> anyhow::Result<PairingInput> {
    let input = input.trim();
    if input.is_empty() {
        bail!("empty pairing input");
    }
    if input.contains("://") {
        return parse_url(input);
    }
    if input.starts_with('{') {
        let v: Value = serde_json::from_str(input).context("pairing JSON")?;
        return from_json(&v, None);
    }
    if let Some(v) = decode_bundle(input) {
        return from_json(&v, None);
    }
    if input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(PairingInput {
            code: input.to_owned(),
            ..PairingInput::default()
        });
    }
    bail!("not a pairing bundle, URI, URL or code")
}

/// base64url (padding optional) of a JSON object with a pairing code.
fn decode_bundle(s: &str) -> Option<Value> {
    let trimmed = s.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    (v.get("pairing_code").is_some() || v.get("code").is_some()).then_some(v)
}

fn parse_url(input: &str) -> anyhow::Result<PairingInput> {
    let url = url::Url::parse(input).context("pairing URL")?;
    let q = |k: &str| {
        url.query_pairs()
            .find(|(name, v)| name == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let origin = match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        "botmox" => None,
        other => bail!("unsupported pairing URL scheme `{other}`"),
    };
    if url.scheme() == "botmox" && url.host_str() != Some("pair") {
        bail!("a botmox:// pairing URI looks like botmox://pair?bundle=…");
    }
    if let Some(bundle) = q("bundle") {
        let v = decode_bundle(&bundle).ok_or_else(|| anyhow!("the pairing bundle is not valid"))?;
        return from_json(&v, origin);
    }
    let code = q("pairing_code")
        .or_else(|| q("code"))
        .or_else(|| {
            let segs: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
            match segs.as_slice() {
                [.., "pair", code] => Some((*code).to_owned()),
                _ => None,
            }
        })
        .ok_or_else(|| anyhow!("the pairing URL carries no bundle or code"))?;
    let server = q("server_url").or_else(|| q("serverUrl")).or(origin);
    let proxmox = hints(q("proxmox_url"), q("proxmox_username"), q("proxmox_node"));
    Ok(PairingInput {
        code,
        server_url: server.map(|s| s.trim_end_matches('/').to_owned()),
        proxmox,
    })
}

fn from_json(v: &Value, fallback_server: Option<String>) -> anyhow::Result<PairingInput> {
    let s = |obj: &Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
    };
    let code =
        s(v, &["pairing_code", "code"]).ok_or_else(|| anyhow!("the bundle has no pairing code"))?;
    let server = s(v, &["server_url", "serverUrl"]).or(fallback_server);
    let proxmox = v
        .get("proxmox")
        .or_else(|| v.get("proxmox_defaults"))
        .filter(|p| p.is_object())
        .and_then(|p| {
            hints(
                s(p, &["url", "proxmoxUrl"]),
                s(p, &["username", "proxmoxUsername"]),
                s(p, &["node", "proxmoxNode"]),
            )
        });
    Ok(PairingInput {
        code,
        server_url: server.map(|s| s.trim_end_matches('/').to_owned()),
        proxmox,
    })
}

fn hints(
    url: Option<String>,
    username: Option<String>,
    node: Option<String>,
) -> Option<ProxmoxHints> {
    if url.is_none() && username.is_none() && node.is_none() {
        None
    } else {
        Some(ProxmoxHints {
            url,
            username,
            node,
        })
    }
}

/// Encodes a bundle the way the server does (for tests and tooling).
pub fn encode_bundle(code: &str, server_url: Option<&str>) -> String {
    let v = serde_json::json!({"v": 1, "pairing_code": code, "server_url": server_url});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}
