//! The training curve: a CSV of the evaluation points, and a PNG chart (drawn with
//! `plotters`) of the test accuracy against the SGD step.

use std::fmt::Write;
use std::path::Path;

use crate::chart::Panel;

use dyad_server::training::{Point, Stats};

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

/// One line of an accuracy chart: its legend entry and its (SGD step, accuracy) points.
pub type Line<'a> = (&'a str, Vec<(u64, f64)>);

/// Draws the test accuracy (%) of `lines` against the SGD step into the PNG file `path`, with
/// `title` and a legend.
pub fn chart(path: &Path, title: &str, lines: &[Line]) -> anyhow::Result<()> {
    crate::chart::draw_png(path, title, "SGD step", &[accuracy_panel(lines)])
}

fn accuracy_panel<'a>(lines: &[Line<'a>]) -> Panel<'a> {
    Panel {
        y_desc: "test accuracy (%)",
        y_range: Some(0.0..101.0),
        lines: lines
            .iter()
            .map(|(name, points)| {
                let points = points.iter().map(|&(s, a)| (s as f64, 100.0 * a)).collect();
                (*name, points)
            })
            .collect(),
    }
}

/// Writes `curve.csv` and `curve.png` into `dir`.
pub fn write(dir: &Path, title: &str, name: &str, points: &[Point]) -> anyhow::Result<()> {
    let text = csv(points);
    dyad_server::files::write_atomically(&dir.join("curve.csv"), text.as_bytes())?;
    chart(&dir.join("curve.png"), title, &[(name, accuracies(&text))])
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

    fn lines() -> Vec<Line<'static>> {
        vec![
            (
                "secure (MPC)",
                vec![(4, 0.30), (8, 0.55), (12, 0.71), (16, 0.78)],
            ),
            (
                "plaintext float",
                vec![(4, 0.33), (8, 0.58), (12, 0.70), (16, 0.80)],
            ),
        ]
    }

    #[test]
    fn the_chart_is_a_png_of_its_size_with_its_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("curve.png");
        chart(&path, "net-a: secure training vs plaintext", &lines()).expect("chart");
        let bytes = std::fs::read(&path).expect("written");
        let (w, h, gray) = crate::data::png::decode_gray(&bytes).expect("a PNG");
        let (width, height) = crate::chart::size(1);
        assert_eq!((w, h), (width as usize, height as usize));
        // The secure line's colour is there.
        let [r, g, b] = [31u16, 119, 180];
        let blue = ((r + g + b) / 3) as u8;
        assert!(gray.iter().filter(|&&v| v == blue).count() > 100);
    }

    #[test]
    fn a_chart_without_text_is_still_drawn() {
        use plotters::prelude::*;
        let (w, h) = crate::chart::size(1);
        let mut pixels = vec![0u8; 3 * (w * h) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            let panels = [accuracy_panel(&lines())];
            crate::chart::draw(&root, "not drawn", "step", &panels, false).expect("drawn");
            root.present().expect("presented");
        }
        let white = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let blue = pixels.chunks(3).filter(|p| p == &[31, 119, 180]).count();
        assert!(white > pixels.len() / 6 && blue > 100, "{white} {blue}");
    }
}
