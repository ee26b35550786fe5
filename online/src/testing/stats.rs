//! Chi-square tests for the statistical tests of views and generated randomness: at
//! significance `1e-6`, so a correct protocol fails once in a million runs (and the tests use
//! fixed seeds, so they are deterministic).

/// Counts of `values` in `bins` bins.
pub fn histogram(values: impl Iterator<Item = usize>, bins: usize) -> Vec<u64> {
    let mut counts = vec![0u64; bins];
    for v in values {
        counts[v] += 1;
    }
    counts
}

/// The two-sample chi-square statistic for homogeneity of two histograms over the same bins,
/// and its degrees of freedom (bins where either has a count, less one).
pub fn chi_square_homogeneity(a: &[u64], b: &[u64]) -> (f64, usize) {
    let (ta, tb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    let mut stat = 0.0;
    let mut bins = 0;
    for (&x, &y) in a.iter().zip(b) {
        if x + y > 0 {
            bins += 1;
            let d = x as f64 * (tb / ta).sqrt() - y as f64 * (ta / tb).sqrt();
            stat += d * d / (x + y) as f64;
        }
    }
    (stat, bins.max(2) - 1)
}

/// The chi-square statistic of a histogram against the uniform distribution over its bins,
/// and its degrees of freedom.
pub fn chi_square_uniformity(counts: &[u64]) -> (f64, usize) {
    let n: u64 = counts.iter().sum();
    let expected = n as f64 / counts.len() as f64;
    let stat = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    (stat, counts.len().max(2) - 1)
}

/// The chi-square quantile for significance `1e-6` (Wilson–Hilferty approximation).
pub fn critical(df: usize) -> f64 {
    let df = df as f64;
    let z = 4.753; // the standard normal quantile for 1 - 1e-6
    let c = 2.0 / (9.0 * df);
    df * (1.0 - c + z * c.sqrt()).powi(3)
}

/// Panics unless the two histograms pass the homogeneity test.
pub fn assert_same_distribution(what: &str, a: &[u64], b: &[u64]) {
    let (stat, df) = chi_square_homogeneity(a, b);
    assert!(
        stat < critical(df),
        "{what}: chi-square {stat:.1} over {df} df (critical {:.1})",
        critical(df)
    );
}

/// Panics unless the histogram passes the uniformity test.
pub fn assert_uniform(what: &str, counts: &[u64]) {
    let (stat, df) = chi_square_uniformity(counts);
    assert!(
        stat < critical(df),
        "{what} is not uniform: chi-square {stat:.1} over {df} df"
    );
}
