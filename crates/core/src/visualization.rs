//! The visualization URL (SPEC §3.8), compatible with the existing web UI and its two-run
//! comparison form.

use base64::Engine as _;

/// One point of the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Memory size (MB).
    pub power: u32,
    /// Average duration (ms).
    pub duration: f64,
    /// Average price ($).
    pub cost: f64,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three `;`-joined parts: Int16 LE powers, Float32 LE durations, Float32 LE costs, each
/// standard base64 with padding, sorted by power ascending.
pub fn encode_points(points: &[Point]) -> String {
    let mut points = points.to_vec();
    points.sort_by_key(|p| p.power);
    let powers: Vec<u8> = points
        .iter()
        .flat_map(|p| (p.power as i16).to_le_bytes())
        .collect();
    let durations: Vec<u8> = points
        .iter()
        .flat_map(|p| (p.duration as f32).to_le_bytes())
        .collect();
    let costs: Vec<u8> = points
        .iter()
        .flat_map(|p| (p.cost as f32).to_le_bytes())
        .collect();
    format!("{};{};{}", b64(&powers), b64(&durations), b64(&costs))
}

/// `baseURL[?currency=CNY]`: CNY when the tuner's region starts with `cn-`.
pub fn prefix(base_url: &str, region: &str) -> String {
    let currency = if region.starts_with("cn-") {
        "?currency=CNY"
    } else {
        ""
    };
    format!("{base_url}{currency}")
}

/// `baseURL[?currency=CNY]#<parts>`.
pub fn url(base_url: &str, region: &str, points: &[Point]) -> String {
    format!("{}#{}", prefix(base_url, region), encode_points(points))
}

/// The characters `encodeURIComponent` leaves as they are: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// JavaScript's `encodeURIComponent`.
pub fn encode_uri_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// JavaScript's `decodeURIComponent` (malformed escapes kept as they are).
pub fn decode_uri_component(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The web UI's two-run comparison link: `<prefix>#p1;t1;c1;p2;t2;c2;name1;name2`, names
/// URI-encoded; `prefix` as [`prefix`] makes it.
pub fn comparison_url(prefix: &str, first: (&[Point], &str), second: (&[Point], &str)) -> String {
    format!(
        "{prefix}#{};{};{};{}",
        encode_points(first.0),
        encode_points(second.0),
        encode_uri_component(first.1),
        encode_uri_component(second.1)
    )
}

/// One run of a comparison link: its points and its name.
pub type Run = (Vec<Point>, String);

/// A comparison link's parts: the two runs' points and names.
pub fn decode_comparison(hash: &str) -> Option<(Run, Run)> {
    let parts: Vec<&str> = hash.split(';').collect();
    if parts.len() != 8 {
        return None;
    }
    Some((
        (
            decode_points(&parts[0..3].join(";"))?,
            decode_uri_component(parts[6]),
        ),
        (
            decode_points(&parts[3..6].join(";"))?,
            decode_uri_component(parts[7]),
        ),
    ))
}

/// Decodes the three parts back into points (for comparisons and reports).
pub fn decode_points(hash: &str) -> Option<Vec<Point>> {
    let mut parts = hash.split(';');
    let engine = base64::engine::general_purpose::STANDARD;
    let powers = engine.decode(parts.next()?).ok()?;
    let durations = engine.decode(parts.next()?).ok()?;
    let costs = engine.decode(parts.next()?).ok()?;
    let n = powers.len() / 2;
    if powers.len() != 2 * n || durations.len() != 4 * n || costs.len() != 4 * n {
        return None;
    }
    let f32_at = |bytes: &[u8], i: usize| {
        f64::from(f32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]))
    };
    Some(
        (0..n)
            .map(|i| Point {
                power: u32::from(u16::from_le_bytes([powers[2 * i], powers[2 * i + 1]])),
                duration: f32_at(&durations, i),
                cost: f32_at(&costs, i),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<Point> {
        [
            (128, 200.0, 4.2e-7),
            (256, 120.0, 5.04e-7),
            (512, 80.0, 6.72e-7),
            (1024, 70.0, 1.176e-6),
        ]
        .into_iter()
        .map(|(power, duration, cost)| Point {
            power,
            duration,
            cost,
        })
        .collect()
    }

    #[test]
    fn spec_example_exact_bytes() {
        assert_eq!(
            url("https://lambda-power-tuning.show/", "us-east-1", &example()),
            "https://lambda-power-tuning.show/#gAAAAQACAAQ=;AABIQwAA8EIAAKBCAACMQg==;XHzhNJ5KBzV9YzQ1DdedNQ=="
        );
    }

    #[test]
    fn sorted_by_power_and_cny() {
        let mut shuffled = example();
        shuffled.reverse();
        assert_eq!(
            url("https://x/", "cn-north-1", &shuffled),
            "https://x/?currency=CNY#gAAAAQACAAQ=;AABIQwAA8EIAAKBCAACMQg==;XHzhNJ5KBzV9YzQ1DdedNQ=="
        );
    }

    #[test]
    fn comparison_link_has_eight_parts_and_decodes_back() {
        let second = [Point {
            power: 256,
            duration: 50.0,
            cost: 2.1e-7,
        }];
        let link = comparison_url(
            &prefix("https://lambda-power-tuning.show/", "us-east-1"),
            (&example(), "before fix"),
            (&second, "after: 2×"),
        );
        let (base, hash) = link.split_once('#').expect("hash");
        assert_eq!(base, "https://lambda-power-tuning.show/");
        assert_eq!(hash.split(';').count(), 8);
        assert!(hash.ends_with(";before%20fix;after%3A%202%C3%97"), "{hash}");
        let ((one, a), (two, b)) = decode_comparison(hash).expect("decodes");
        assert_eq!(one.len(), 4);
        assert_eq!((two[0].power, two[0].duration), (256, 50.0));
        assert_eq!((a.as_str(), b.as_str()), ("before fix", "after: 2×"));
        assert!(decode_comparison("a;b").is_none());
        assert_eq!(
            encode_uri_component("a-b_c.d!e~f*g'h(i)j k/é"),
            "a-b_c.d!e~f*g'h(i)j%20k%2F%C3%A9"
        );
        assert_eq!(decode_uri_component("100%"), "100%");
    }

    #[test]
    fn decode_round_trip() {
        let points =
            decode_points("gAAAAQACAAQ=;AABIQwAA8EIAAKBCAACMQg==;XHzhNJ5KBzV9YzQ1DdedNQ==")
                .expect("decodes");
        assert_eq!(points.len(), 4);
        assert_eq!(points[2].power, 512);
        assert_eq!(points[2].duration, 80.0);
        assert!((points[3].cost - 1.176e-6).abs() < 1e-12);
        assert!(decode_points("AAA=;AA==").is_none());
    }
}
