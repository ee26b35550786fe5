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

/// The probability that a chi-square variable with `df` degrees of freedom exceeds `stat`: the
/// upper regularised incomplete gamma function `Q(df/2, stat/2)`, by its series below
/// `stat/2 = df/2 + 1` and its continued fraction above (Numerical Recipes, 6.2). For the
/// thresholds of a Bonferroni correction, far below [`critical`]'s fixed `1e-6`.
pub fn chi_square_tail(stat: f64, df: usize) -> f64 {
    let (a, x) = (df as f64 / 2.0, stat / 2.0);
    if x <= 0.0 {
        return 1.0;
    }
    // x^a e^-x / Γ(a), the factor both expansions share.
    let front = (a * x.ln() - x - ln_gamma_half(df)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        while term > sum * 1e-17 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
        }
        (1.0 - sum * front).max(0.0)
    } else {
        // Lentz's method for 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- ...))).
        let tiny = f64::MIN_POSITIVE / f64::EPSILON;
        let mut b = x + 1.0 - a;
        let (mut c, mut d) = (1.0 / tiny, 1.0 / b);
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = 1.0 / if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            h *= d * c;
            if (d * c - 1.0).abs() < 1e-16 {
                break;
            }
        }
        front * h
    }
}

/// `ln Γ(df/2)`, exactly as a sum: `Γ(n) = (n-1)!` and `Γ(n + 1/2) = √π·(1/2)(3/2)···(n - 1/2)`.
fn ln_gamma_half(df: usize) -> f64 {
    let mut a = df as f64 / 2.0;
    let mut sum = 0.0;
    while a > 1.0 {
        a -= 1.0;
        sum += a.ln();
    }
    match a < 1.0 {
        true => sum + 0.5 * std::f64::consts::PI.ln(),
        false => sum,
    }
}

/// Two histograms of the same symbols that should have the same distribution, and what they
/// are of.
pub struct Comparison {
    /// Named in a failure.
    pub what: String,
    /// The first sample's counts.
    pub a: Vec<u64>,
    /// The second sample's, over the same bins.
    pub b: Vec<u64>,
}

/// The comparisons whose homogeneity test rejects at significance `family / comparisons.len()`
/// (Bonferroni), with their p-values: if every pair has equal distributions, the probability
/// that any is rejected is at most `family`.
pub fn bonferroni_rejections(family: f64, comparisons: &[Comparison]) -> Vec<(&str, f64)> {
    let each = family / comparisons.len().max(1) as f64;
    comparisons
        .iter()
        .filter_map(|c| {
            let (stat, df) = chi_square_homogeneity(&c.a, &c.b);
            let p = chi_square_tail(stat, df);
            (p < each).then_some((c.what.as_str(), p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-3 * want
    }

    #[test]
    fn chi_square_tails_match_known_quantiles() {
        // Table values, and df = 2 (exactly e^(-x/2)) far into the tail.
        for (stat, df, p) in [
            (3.841_458_8, 1, 0.05),
            (10.827_566, 1, 1e-3),
            (37.325_68, 1, 1e-9),
            (5.991_464_5, 2, 0.05),
            (41.446_531, 2, 1e-9),
            (18.307_038, 10, 0.05),
            (1.0, 10, 0.999_827_9),
            (293.247_84, 255, 0.05),
        ] {
            let got = chi_square_tail(stat, df);
            assert!(close(got, p), "Q({stat}, {df}) = {got:e}, want {p:e}");
        }
        assert!(close(chi_square_tail(100.0, 2), (-50f64).exp()));
        assert_eq!(chi_square_tail(0.0, 3), 1.0);
    }

    #[test]
    fn bonferroni_rejects_only_a_separated_pair() {
        let same = Comparison {
            what: "same".into(),
            a: vec![500, 500],
            b: vec![510, 490],
        };
        let apart = Comparison {
            what: "apart".into(),
            a: vec![500, 500],
            b: vec![700, 300],
        };
        let family = [same, apart];
        let rejected = bonferroni_rejections(1e-6, &family);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].0, "apart");
    }
}
