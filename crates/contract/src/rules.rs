//! Small validation rules shared by several domains (garde has no trim-aware rules).

/// `vm_uuid`: 8..=128 characters after trimming, letters, digits, `:`, `_` and `-`.
pub fn vm_uuid(value: &str, _ctx: &()) -> garde::Result {
    let v = value.trim();
    if !(8..=128).contains(&v.chars().count()) {
        return Err(garde::Error::new("must be 8 to 128 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    {
        return Err(garde::Error::new(
            "may contain only letters, digits, ':', '_' and '-'",
        ));
    }
    Ok(())
}

fn trimmed_len(value: &str, min: usize, max: usize) -> garde::Result {
    let n = value.trim().chars().count();
    if n < min || n > max {
        return Err(garde::Error::new(format!(
            "must be {min} to {max} characters (after trimming)"
        )));
    }
    Ok(())
}

/// 1..=200 characters after trimming (ids, names, modules).
pub fn name200(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 200)
}

/// 1..=100 characters after trimming (platforms, channels, versions).
pub fn name100(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 100)
}

/// 1..=500 characters after trimming (reasons).
pub fn text500(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 500)
}

/// A module, platform or channel name: 1..=100 characters of letters, digits, `.`, `_`, `-`.
pub fn slug(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 100)?;
    if !value
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(garde::Error::new(
            "may contain only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// A JSON object serialised to at most 16 KiB.
pub fn small_object(
    value: &serde_json::Map<String, serde_json::Value>,
    _ctx: &(),
) -> garde::Result {
    let size = serde_json::to_string(value).map(|s| s.len()).unwrap_or(0);
    if size > 16 * 1024 {
        return Err(garde::Error::new("must serialise to at most 16384 bytes"));
    }
    Ok(())
}

/// Treats `""` in a query string as absent.
pub fn blank_as_none(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// One of a fixed set of words, compared case-insensitively after trimming.
pub fn one_of(value: &str, choices: &[&str]) -> garde::Result {
    let v = value.trim().to_ascii_lowercase();
    if choices.contains(&v.as_str()) {
        Ok(())
    } else {
        Err(garde::Error::new(format!(
            "must be one of {}",
            choices.join("|")
        )))
    }
}
