//! Settings paths: `theme`, `projects/wow_tbc`, `/settings/ui/resource_tree/` all name nodes
//! of one tenant's tree. Segment rules are the original ones (no `.#$[]`, no empty, `.` or
//! `..` segments), so every path the old clients used still resolves.

use crate::error::ApiError;
use serde_json::json;

pub const MAX_PATH_LEN: usize = 512;
const MAX_DEPTH: usize = 32;

fn invalid(path: &str, reason: &str) -> ApiError {
    ApiError::bad_request("SETTINGS_INVALID_PATH", "Invalid settings path")
        .with_details(json!({ "path": path, "reason": reason }))
}

/// Splits a raw path into segments; the empty list is the root of the tree.
pub fn parse(raw: &str) -> Result<Vec<String>, ApiError> {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.len() > MAX_PATH_LEN {
        return Err(invalid(raw, "path is longer than 512 characters"));
    }
    let path = match trimmed {
        "settings" => "",
        other => other.strip_prefix("settings/").unwrap_or(other),
    };
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for segment in path.split('/') {
        segment_ok(segment).map_err(|reason| invalid(raw, reason))?;
        segments.push(segment.to_owned());
    }
    if segments.len() > MAX_DEPTH {
        return Err(invalid(raw, "path is nested too deeply"));
    }
    Ok(segments)
}

/// Why a segment (or a key written at the root) is not allowed.
pub fn segment_ok(segment: &str) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("empty path segment");
    }
    if segment == "." || segment == ".." {
        return Err("relative path segment");
    }
    if segment
        .chars()
        .any(|c| matches!(c, '.' | '#' | '$' | '[' | ']') || c.is_control())
    {
        return Err("path segment contains one of . # $ [ ] or a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_slashes_are_normalised() {
        assert_eq!(parse("/settings/theme/").expect("ok"), vec!["theme"]);
        assert_eq!(
            parse(" projects/wow_tbc ").expect("ok"),
            vec!["projects", "wow_tbc"]
        );
        assert!(parse("settings").expect("ok").is_empty());
        assert!(parse("").expect("ok").is_empty());
    }

    #[test]
    fn bad_segments_are_rejected() {
        for bad in ["a//b", "a/../b", "a/./b", "a.b", "a/#", "x/$y", "a/[0]"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"a".repeat(513)).is_err());
    }
}
