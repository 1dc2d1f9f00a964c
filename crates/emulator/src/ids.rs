//! Request ids, revision ids and query ids: random, in UUID format, as Lambda writes them.

/// A random id in UUID format.
pub fn new_id() -> String {
    let mut rng = fastrand::Rng::new();
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
