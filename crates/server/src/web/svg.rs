//! Pictures drawn on the server as inline SVG: the finance bar chart and pairing QR codes.
//! Colours come from CSS classes, so both themes apply.

use std::fmt::Write;

/// One day of the chart.
pub struct DayBar {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub income: f64,
    pub expense: f64,
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Income and expense per day as paired bars, with a scale on the left and every fifth date
/// below. Each bar has a `<title>` so the exact figures show on hover and to screen readers.
pub fn finance_bars(days: &[DayBar], currency: &str) -> String {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 24.0;
    const TOP: f64 = 8.0;
    let max = days
        .iter()
        .flat_map(|d| [d.income, d.expense])
        .fold(0.0_f64, f64::max);
    let scale_max = if max > 0.0 { nice_ceiling(max) } else { 1.0 };
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar = (slot * 0.38).max(1.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="Income and expenses per day, last {} days, {}">"#,
        days.len(),
        esc(currency)
    );
    for i in 0..=4 {
        let v = scale_max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r#"<line class="axis" x1="{LEFT}" y1="{y:.1}" x2="{W}" y2="{y:.1}"/><text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            y + 3.0,
            short_number(v)
        );
    }
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.1;
        for (k, (class, v)) in [("income", d.income), ("expense", d.expense)]
            .into_iter()
            .enumerate()
        {
            let h = plot_h * v / scale_max;
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}"><title>{} {class}: {v:.2} {}</title></rect>"#,
                x + bar * k as f64,
                TOP + plot_h - h,
                esc(&d.day),
                esc(currency)
            );
        }
        if i % 5 == 0 || i + 1 == days.len() {
            let label = d.day.get(5..).unwrap_or(&d.day);
            // The last date ends at the right edge instead of running past it.
            let anchor = if i + 1 == days.len() { "end" } else { "middle" };
            let _ = write!(
                out,
                r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
                if i + 1 == days.len() { W } else { x + bar },
                H - 8.0,
                esc(label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// 1, 2 or 5 times a power of ten, at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn short_number(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A QR code of `text` as an inline SVG element (black on white, with a quiet zone).
pub fn qr(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML: drop the XML declaration.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_rounds_up_to_a_readable_ceiling() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(500.0), 500.0);
    }

    #[test]
    fn qr_is_an_inline_svg_element() {
        let svg = qr("botmox://pair?bundle=abc").expect("encodes");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<path") || svg.contains("<rect"));
    }
}
