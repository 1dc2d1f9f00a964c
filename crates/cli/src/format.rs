//! Money and counts as the tool prints them.

/// Digits with thousands separators: `1234567` → `1,234,567`.
pub fn grouped(digits: &str) -> String {
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Dollars with cents and thousands separators: `$1,234.56`, `−$412.00`; an amount under a
/// cent with three significant digits (`$0.000387`), never a misleading `$0.00`.
pub fn money(v: f64) -> String {
    let sign = if v < 0.0 { "−" } else { "" };
    format!("{sign}${}", amount(v.abs()))
}

/// A non-negative amount as [`money`] writes it, without the sign and the `$` (table cells
/// whose header says the unit).
pub fn amount(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.005 && v.is_finite() {
        let decimals = (-v.abs().log10()).ceil() as usize + 2;
        return format!("{:.*}", decimals, v);
    }
    let cents = format!("{v:.2}");
    let (whole, fraction) = cents.split_once('.').unwrap_or((&cents, "00"));
    format!("{}.{fraction}", grouped(whole))
}

/// A byte count in decimal units: `19.1 KB`, `7.0 MB`, `5.37 GB`.
pub fn bytes(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2} GB", v / 1e9),
        v if v >= 1e6 => format!("{:.1} MB", v / 1e6),
        v if v >= 1e3 => format!("{:.1} KB", v / 1e3),
        v => format!("{v:.0} bytes"),
    }
}
