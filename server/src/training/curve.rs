//! The training curve as a CSV of the evaluation points (`curve.csv`): what a job writes
//! beside its model share, and what the demo and charts read back.

use std::fmt::Write;

use super::{Point, Stats};

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

/// Reads the points back from a curve CSV (byte counts to the CSV's kilobyte precision).
pub fn points(text: &str) -> Vec<Point> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let number = |i: usize| c.get(i)?.parse::<f64>().ok();
            let bytes = |i: usize| number(i).map(|mb| (mb * 1e6).round() as u64);
            Some(Point {
                epoch: c.first()?.parse().ok()?,
                step: c.get(1)?.parse().ok()?,
                accuracy: number(2)?,
                loss: number(3),
                stats: Stats {
                    seconds: number(4)?,
                    store_seconds: number(5)?,
                    bytes_sent: bytes(6)?,
                    bytes_received: bytes(7)?,
                    rounds: c.get(8)?.parse().ok()?,
                },
            })
        })
        .collect()
}

/// The (SGD step, test accuracy) pairs of a curve CSV.
pub fn accuracies(text: &str) -> Vec<(u64, f64)> {
    points(text).iter().map(|p| (p.step, p.accuracy)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_reads_back() {
        let p = |epoch, accuracy, loss| Point {
            epoch,
            step: 31 * epoch as u64,
            accuracy,
            loss,
            stats: Stats {
                seconds: 1.5,
                store_seconds: 0.25,
                bytes_sent: 2_000_000,
                bytes_received: 3_000,
                rounds: 77,
            },
        };
        let written = [p(1, 0.5, None), p(2, 0.75, Some(0.125))];
        let text = csv(&written);
        assert_eq!(points(&text), written);
        assert_eq!(accuracies(&text), vec![(31, 0.5), (62, 0.75)]);
        assert!(
            text.lines()
                .nth(1)
                .expect("row")
                .starts_with("1,31,0.5000,,")
        );
    }
}
