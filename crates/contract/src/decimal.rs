//! Exact decimal amounts for money: fixed point with 8 fractional digits in an `i64` (sums in
//! `i128`), written on the wire as decimal strings such as `"12.34"`. Binary floating point
//! is never involved: a JSON number in a request is read from its literal text.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// Fractional digits kept.
pub const SCALE: u32 = 8;
/// `10^SCALE`: units per whole.
pub const UNIT: i64 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalError {
    Syntax,
    TooPrecise,
    OutOfRange,
}

impl DecimalError {
    pub fn message(&self) -> &'static str {
        match self {
            DecimalError::Syntax => "must be a decimal number such as \"12.34\"",
            DecimalError::TooPrecise => "at most 8 digits after the decimal point",
            DecimalError::OutOfRange => "is out of range",
        }
    }
}

/// Parses `[-]digits[.digits][e[+-]digits]` exactly into units of `10^-8`.
pub fn parse_units(text: &str) -> Result<i64, DecimalError> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = t[i + 1..].parse().map_err(|_| DecimalError::Syntax)?;
            (&t[..i], exp)
        }
        None => (t, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(DecimalError::Syntax);
    }
    // All significant digits, and where the decimal point sits among them.
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let frac_len = i64::try_from(frac_part.len()).map_err(|_| DecimalError::OutOfRange)?;
    let scale_shift = i64::from(SCALE) - frac_len + i64::from(exponent);
    let digits = if scale_shift < 0 {
        // Digits below 10^-8 must all be zero.
        let cut = usize::try_from(-scale_shift).map_err(|_| DecimalError::TooPrecise)?;
        if cut > digits.len() {
            if digits.bytes().any(|b| b != b'0') {
                return Err(DecimalError::TooPrecise);
            }
            String::new()
        } else {
            let (keep, drop) = digits.split_at(digits.len() - cut);
            if drop.bytes().any(|b| b != b'0') {
                return Err(DecimalError::TooPrecise);
            }
            keep.to_owned()
        }
    } else {
        let pad = usize::try_from(scale_shift).map_err(|_| DecimalError::OutOfRange)?;
        if pad > 40 {
            return Err(DecimalError::OutOfRange);
        }
        format!("{digits}{}", "0".repeat(pad))
    };
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 19 {
        return Err(DecimalError::OutOfRange);
    }
    let magnitude: i128 = digits.parse().map_err(|_| DecimalError::OutOfRange)?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| DecimalError::OutOfRange)
}

/// Formats units of `10^-8` as a decimal string with at least two fractional digits
/// (`"12.00"`, `"1.523373"`, `"-0.50"`).
pub fn format_units(units: i128) -> String {
    let negative = units < 0;
    let magnitude = units.unsigned_abs();
    let unit = u128::from(UNIT.unsigned_abs());
    let whole = magnitude / unit;
    let frac = format!("{:08}", magnitude % unit);
    let mut frac = frac.trim_end_matches('0').to_owned();
    while frac.len() < 2 {
        frac.push('0');
    }
    format!("{}{whole}.{frac}", if negative { "-" } else { "" })
}

/// A decimal as it arrived: a JSON string or a JSON number, kept as its literal text.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "12.34")]
pub struct DecimalInput(pub String);

impl DecimalInput {
    pub fn units(&self) -> Result<i64, DecimalError> {
        parse_units(&self.0)
    }

    /// Units, if the value is a valid decimal in `0..=max_whole`.
    pub fn checked(&self, max_whole: i64) -> Result<i64, DecimalError> {
        let units = self.units()?;
        if units < 0 || units > max_whole.saturating_mul(UNIT) {
            return Err(DecimalError::OutOfRange);
        }
        Ok(units)
    }
}

impl<'de> Deserialize<'de> for DecimalInput {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(de)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            return Ok(DecimalInput(s));
        }
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Ok(DecimalInput(text.to_owned()));
        }
        Err(D::Error::custom("expected a decimal string or number"))
    }
}

impl Serialize for DecimalInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_or_refuses() {
        assert_eq!(parse_units("12.34"), Ok(1_234_000_000));
        assert_eq!(parse_units("0.00000001"), Ok(1));
        assert_eq!(parse_units("-0.5"), Ok(-50_000_000));
        assert_eq!(parse_units("1e3"), Ok(1000 * UNIT));
        assert_eq!(parse_units("1.5E-2"), Ok(1_500_000));
        assert_eq!(parse_units("12."), Ok(12 * UNIT));
        assert_eq!(parse_units(".5"), Ok(50_000_000));
        assert_eq!(parse_units("1.230000000"), Ok(123_000_000));
        assert_eq!(parse_units("0.000000001"), Err(DecimalError::TooPrecise));
        assert_eq!(
            parse_units("0.30000000000000004"),
            Err(DecimalError::TooPrecise)
        );
        assert_eq!(parse_units("1e30"), Err(DecimalError::OutOfRange));
        for bad in ["", ".", "abc", "1,5", "1.2.3", "--1", "1e"] {
            assert_eq!(parse_units(bad), Err(DecimalError::Syntax), "{bad}");
        }
    }

    #[test]
    fn formats_with_two_or_more_fraction_digits() {
        assert_eq!(format_units(1_234_000_000), "12.34");
        assert_eq!(format_units(0), "0.00");
        assert_eq!(format_units(152_337_300), "1.523373");
        assert_eq!(format_units(-50_000_000), "-0.50");
        assert_eq!(format_units(1), "0.00000001");
    }

    #[test]
    fn json_numbers_keep_their_literal() {
        let v: DecimalInput = serde_json::from_str("12.34").expect("number");
        assert_eq!(v.units(), Ok(1_234_000_000));
        let v: DecimalInput = serde_json::from_str("\"0.1\"").expect("string");
        assert_eq!(v.units(), Ok(10_000_000));
        assert!(serde_json::from_str::<DecimalInput>("true").is_err());
    }
}
