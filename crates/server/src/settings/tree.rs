//! Pure operations on settings JSON: reading and writing at a path with the original merge
//! rule, and keeping secret fields sealed in storage and masked on the way out.

use crate::secrets_crypto::{self, SecretsCrypto};
use serde_json::{Map, Value};

/// Longest secret accepted (API keys, tokens, passwords).
const MAX_SECRET_CHARS: usize = 4096;

/// Field names whose string values are secrets, wherever they appear in the tree
/// (`api_key`, `bot_token`, `password`, `tinyfmPassword`, `client_secret`, …).
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "password",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "passphrase",
    ]
    .iter()
    .any(|s| k.ends_with(s))
}

/// `api_key_configured` and friends are derived on read; writes drop them.
fn is_derived_flag(key: &str) -> bool {
    key.strip_suffix("_configured").is_some_and(is_secret_key)
}

pub fn get_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |node, seg| node.get(seg.as_str()))
}

/// Writes `payload` at `path` below `current`: intermediate objects are created (a non-object
/// in the way is replaced), and at the target two objects merge shallowly while anything else
/// is replaced.
pub fn set_at(current: Option<Value>, path: &[String], payload: Value) -> Value {
    match path.split_first() {
        None => match (current, payload) {
            (Some(Value::Object(mut old)), Value::Object(new)) => {
                old.extend(new);
                Value::Object(old)
            }
            (_, payload) => payload,
        },
        Some((head, rest)) => {
            let mut map = match current {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            let child = map.remove(head);
            map.insert(head.clone(), set_at(child, rest, payload));
            Value::Object(map)
        }
    }
}

/// A secret field that cannot be stored: `(field path, message)`.
pub type SecretError = (String, String);

/// Seals every secret in a client payload. A mask echoed back (`****…`) keeps the secret
/// stored at the same place; `""` or `null` clears it.
pub fn seal_payload(
    payload: Value,
    existing: Option<&Value>,
    crypto: &SecretsCrypto,
    context: &str,
    at: &str,
) -> Result<Value, SecretError> {
    match payload {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                if is_derived_flag(&key) {
                    continue;
                }
                let field = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let old = existing.and_then(|e| e.get(&key));
                if is_secret_key(&key) {
                    match value {
                        Value::Null => {
                            out.insert(key, Value::Null);
                        }
                        // Cleared: null (not absent) so a shallow merge overwrites the old one.
                        Value::String(s) if s.is_empty() => {
                            out.insert(key, Value::Null);
                        }
                        Value::String(s) if secrets_crypto::is_mask(&s) => {
                            if let Some(Value::String(kept)) = old
                                && SecretsCrypto::is_sealed(kept)
                            {
                                out.insert(key, Value::String(kept.clone()));
                            }
                        }
                        Value::String(s) if s.chars().count() > MAX_SECRET_CHARS => {
                            return Err((field, "secret is longer than 4096 characters".into()));
                        }
                        Value::String(s) => {
                            out.insert(key, Value::String(crypto.seal(&s, context)));
                        }
                        _ => return Err((field, "secret must be a string or null".into())),
                    }
                } else {
                    let sealed = seal_payload(value, old, crypto, context, &field)?;
                    out.insert(key, sealed);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let old = existing.and_then(|e| e.get(i));
                seal_payload(item, old, crypto, context, &format!("{at}[{i}]"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// What a client sees: sealed secrets become `****abcd` plus `<field>_configured: true`.
pub fn masked(value: &Value, crypto: &SecretsCrypto, context: &str) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                if is_secret_key(key) {
                    match v {
                        Value::String(sealed) => {
                            let shown = match crypto.open(sealed, context) {
                                Ok(plain) => secrets_crypto::mask(plain.expose()),
                                Err(err) => {
                                    tracing::warn!(field = %key, error = %err, "a stored secret cannot be decrypted");
                                    "****".to_owned()
                                }
                            };
                            out.insert(key.clone(), Value::String(shown));
                            out.insert(format!("{key}_configured"), Value::Bool(true));
                        }
                        Value::Null => {
                            out.insert(key.clone(), Value::Null);
                            out.insert(format!("{key}_configured"), Value::Bool(false));
                        }
                        // Never stored (writes reject it); shown as nothing rather than leaked.
                        _ => {}
                    }
                } else {
                    out.insert(key.clone(), masked(v, crypto, context));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| masked(item, crypto, context))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The tree as validation sees it: sealed secrets stand in as a short opaque string, so
/// schema rules check their type, not the length of the ciphertext.
pub fn validation_view(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if is_secret_key(k) && SecretsCrypto::is_sealed(s) => {
                            Value::String("****".to_owned())
                        }
                        other => validation_view(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(validation_view).collect()),
        other => other.clone(),
    }
}

/// Plaintext of the secret at `path`, if one is stored there.
pub fn open_at(
    tree: &Value,
    path: &[String],
    crypto: &SecretsCrypto,
    context: &str,
) -> Option<crate::config::Secret> {
    match get_at(tree, path)? {
        Value::String(sealed) => crypto.open(sealed, context).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn writes_merge_objects_shallowly_and_replace_the_rest() {
        let tree = json!({"theme": {"a": 1, "b": {"c": 2}}});
        let out = set_at(Some(tree), &p(&["theme"]), json!({"b": {"d": 3}}));
        assert_eq!(out, json!({"theme": {"a": 1, "b": {"d": 3}}}));
        let out = set_at(Some(out), &p(&["theme", "a"]), json!("x"));
        assert_eq!(out["theme"]["a"], "x");
        let out = set_at(None, &p(&["x", "y", "z"]), json!(1));
        assert_eq!(out, json!({"x": {"y": {"z": 1}}}));
    }

    #[test]
    fn secrets_are_sealed_masked_and_kept_when_the_mask_comes_back() {
        let c = SecretsCrypto::from_key([3u8; 32]);
        let sealed = seal_payload(
            json!({"ipqs": {"api_key": "abcdefgh-1234-wxyz", "enabled": true}}),
            None,
            &c,
            "t",
            "",
        )
        .expect("sealed");
        let stored = sealed["ipqs"]["api_key"].as_str().expect("string");
        assert!(SecretsCrypto::is_sealed(stored));
        let shown = masked(&sealed, &c, "t");
        assert_eq!(shown["ipqs"]["api_key"], "****wxyz");
        assert_eq!(shown["ipqs"]["api_key_configured"], true);
        // Echoing the read back keeps the stored value and drops the derived flag.
        let again = seal_payload(
            shown["ipqs"].clone(),
            Some(&sealed["ipqs"]),
            &c,
            "t",
            "ipqs",
        )
        .expect("sealed");
        assert_eq!(again["api_key"].as_str(), Some(stored));
        assert!(again.get("api_key_configured").is_none());
        let cleared =
            seal_payload(json!({"api_key": ""}), Some(&sealed["ipqs"]), &c, "t", "").expect("ok");
        assert_eq!(cleared.get("api_key"), Some(&Value::Null));
        assert!(seal_payload(json!({"password": 5}), None, &c, "t", "").is_err());
    }

    #[test]
    fn secret_names_are_recognised_in_any_style() {
        for k in [
            "api_key",
            "bot_token",
            "password",
            "tinyfmPassword",
            "client-secret",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "passwordOptions",
            "privateKeyPath",
            "chat_id",
            "useKeyAuth",
            "max_tokens",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
