//! Statistics over invocation durations (SPEC §3.6): the trimmed mean of the original, and the
//! new percentiles.

/// Trimmed mean: empty → 0; `k = floor(len·d)`; sort ascending; mean of `sorted[k..len-k]`.
/// Sums left to right from 0 and divides once, as the original does.
pub fn trimmed_mean(values: &[f64], discard: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let len = values.len();
    let k = ((len as f64) * discard).floor() as usize;
    if 2 * k >= len {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    mean(sorted[k..len - k].iter().copied())
}

/// Mean: left-to-right sum from 0, divided once; 0 when empty.
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Nearest-rank percentile (`p` in 0..=100) of already sorted values; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median (mean of the two middle values for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Least-squares line through `(x, y)` points: `(slope, intercept)`; `None` without two
/// distinct `x`.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    Some((slope, mean_y - slope * mean_x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_linear_fit() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        // y = 0.25 x + 7, exactly.
        let line: Vec<(f64, f64)> = [50.0, 500.0, 1000.0]
            .iter()
            .map(|x| (*x, 0.25 * x + 7.0))
            .collect();
        let (slope, intercept) = linear_fit(&line).expect("fit");
        assert!((slope - 0.25).abs() < 1e-12 && (intercept - 7.0).abs() < 1e-9);
        // Noise around a slope of 2: (0,1) (1,2) (2,5) → slope 2, intercept 2/3.
        let (slope, intercept) = linear_fit(&[(0.0, 1.0), (1.0, 2.0), (2.0, 5.0)]).expect("fit");
        assert!((slope - 2.0).abs() < 1e-12 && (intercept - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(linear_fit(&[(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(linear_fit(&[]), None);
    }

    const TEN: [f64; 10] = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 100.0];

    #[test]
    fn trimmed_mean_golden() {
        assert_eq!(trimmed_mean(&[], 0.2), 0.0);
        // d = 0: plain mean.
        assert_eq!(trimmed_mean(&TEN, 0.0), 150.0 / 10.0);
        // d = 0.1: drop 1 each end (1 and 100) → 2..10 = 49/8.
        assert_eq!(trimmed_mean(&TEN, 0.1), 49.0 / 8.0);
        // d = 0.2: drop 2 each end → 3,4,6,7,8,9 = 37/6.
        assert_eq!(trimmed_mean(&TEN, 0.2), 37.0 / 6.0);
        // d = 0.4: drop 4 each end → 6,7 → 6.5.
        assert_eq!(trimmed_mean(&TEN, 0.4), 6.5);
        // Fewer than 5 values with d = 0.2 discard nothing.
        assert_eq!(trimmed_mean(&[1.0, 2.0, 6.0], 0.2), 3.0);
        // Same order of operations as the original (sum then divide).
        let xs = [0.1, 0.2, 0.3, 0.4, 0.5];
        assert_eq!(trimmed_mean(&xs, 0.2), (0.2 + 0.3 + 0.4) / 3.0);
        assert_eq!(trimmed_mean(&xs, 0.2), ((0.0 + 0.2) + 0.3 + 0.4) / 3.0);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let mut sorted = TEN.to_vec();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(percentile(&sorted, 50.0), 6.0);
        assert_eq!(percentile(&sorted, 90.0), 10.0);
        assert_eq!(percentile(&sorted, 99.0), 100.0);
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[4.0], 99.0), 4.0);
    }
}
