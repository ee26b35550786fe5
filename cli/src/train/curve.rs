//! The training curve: a CSV of the per-epoch points and a PNG chart of the test accuracy.

use std::fmt::Write;
use std::path::Path;

use super::runner::Point;
use crate::plot::{Chart, PALETTE, Series};

/// The CSV text of `points`.
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from(
        "epoch,step,test_accuracy,train_loss,online_seconds,store_seconds,mb_sent,mb_received,rounds\n",
    );
    for p in points {
        let s = &p.stats;
        let loss = p.loss.map(|l| format!("{l:.6}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{:.4},{loss},{:.2},{:.2},{:.3},{:.3},{}",
            p.epoch,
            p.step,
            p.accuracy,
            s.seconds,
            s.store_seconds,
            s.bytes_sent as f64 / 1e6,
            s.bytes_received as f64 / 1e6,
            s.rounds
        );
    }
    out
}

/// Reads the epoch and accuracy columns of a curve CSV.
pub fn accuracies(text: &str) -> Vec<(f64, f64)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split(',');
            let epoch = cols.next()?.parse().ok()?;
            let _step = cols.next()?;
            Some((epoch, cols.next()?.parse().ok()?))
        })
        .collect()
}

/// An accuracy chart of named curves.
pub fn chart(title: &str, curves: &[(&str, Vec<(f64, f64)>)]) -> Chart {
    Chart {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: "test accuracy".into(),
        y_range: Some((0.0, 1.0)),
        series: curves
            .iter()
            .zip(PALETTE.iter().cycle())
            .map(|((name, points), &color)| Series {
                name: (*name).into(),
                color,
                points: points.clone(),
            })
            .collect(),
    }
}

/// Writes `curve.csv` and `curve.png` into `dir`.
pub fn write(dir: &Path, title: &str, name: &str, points: &[Point]) -> anyhow::Result<()> {
    let text = csv(points);
    crate::files::write_atomically(&dir.join("curve.csv"), text.as_bytes())?;
    chart(title, &[(name, accuracies(&text))]).write_png(&dir.join("curve.png"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::runner::Stats;

    #[test]
    fn the_csv_reads_back() {
        let p = |epoch, accuracy| Point {
            epoch,
            step: 31 * epoch as u64,
            accuracy,
            loss: None,
            stats: Stats::default(),
        };
        let text = csv(&[p(1, 0.5), p(2, 0.75)]);
        assert_eq!(accuracies(&text), vec![(1.0, 0.5), (2.0, 0.75)]);
        assert!(
            text.lines()
                .nth(1)
                .expect("row")
                .starts_with("1,31,0.5000,,")
        );
    }
}
