//! The training curve: a CSV of the evaluation points, and a PNG chart (drawn with
//! `plotters`) of the test accuracy against the SGD step.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

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

/// The chart's size in pixels.
const SIZE: (u32, u32) = (800, 480);
/// Line colours, in order (matplotlib's first four).
const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];
/// The family the system font is registered under.
const FONT: &str = "sans-serif";

/// Draws the test accuracy (%) of `lines` against the SGD step into the PNG file `path`, with
/// `title`, a legend and integer step ticks.
///
/// Text needs a TrueType font: plotters renders it in pure Rust (`ab_glyph`), from a font
/// read off the system at run time (see [`font_registered`]), since the repository ships
/// none. Without one the chart is still written, with its lines but no text (no title, ticks
/// or legend), and a note on standard error says so: a plain PNG where the caller expects
/// one beats a different file type, and the CSV beside it holds the numbers.
pub fn chart(path: &Path, title: &str, lines: &[Line]) -> anyhow::Result<()> {
    let text = font_registered();
    if !text {
        eprintln!(
            "note: no TrueType font found (set DYAD_CHART_FONT to a .ttf file); {} has no text",
            path.display()
        );
    }
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(&root, title, lines, text)
        .and_then(|()| root.present())
        .map_err(|e| anyhow::anyhow!("cannot draw the chart {}: {e}", path.display()))
}

/// Draws the chart onto `root`, with or without its text.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    lines: &[Line],
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let last = lines
        .iter()
        .flat_map(|(_, points)| points.iter().map(|&(step, _)| step))
        .max()
        .unwrap_or(0)
        .max(1);
    // Room after the last point, so its marker is not cut by the frame.
    let right = last + last.div_ceil(40);
    let mut builder = ChartBuilder::on(root);
    builder.margin(16);
    if text {
        builder
            .caption(title, (FONT, 22))
            .x_label_area_size(48)
            .y_label_area_size(60);
    }
    // Steps are integers (u64 coordinates give integer ticks); accuracy in percent.
    let mut chart = builder.build_cartesian_2d(0..right, 0f64..101f64)?;
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(WHITE);
    if text {
        mesh.x_desc("SGD step")
            .y_desc("test accuracy (%)")
            .x_labels(12)
            .y_labels(11)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16));
    }
    mesh.draw()?;
    for ((name, points), color) in lines.iter().zip(COLORS.iter().cycle()) {
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: true,
            stroke_width: 2,
        };
        let series = chart.draw_series(
            LineSeries::new(points.iter().map(|&(s, a)| (s, 100.0 * a)), style).point_size(4),
        )?;
        if text {
            series
                .label(*name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
        }
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 15))
            .draw()?;
    }
    Ok(())
}

/// Font files tried for the charts' text, most preferred first: common sans-serif faces of
/// Linux distributions and macOS.
const FACES: [&str; 5] = [
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "NotoSans-Regular.ttf",
    "FreeSans.ttf",
    "Arial.ttf",
];

/// Registers a TrueType font for the charts' text, once per process, and says whether one
/// is: `DYAD_CHART_FONT` if set, else the first of [`FACES`] found under the usual font
/// directories.
fn font_registered() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        font_files().into_iter().any(|path| {
            let Ok(bytes) = std::fs::read(&path) else {
                return false;
            };
            // plotters keeps a font for the life of the process (a file that turns out not
            // to be a font stays in memory too; there are at most a handful).
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            register_font(FONT, FontStyle::Normal, bytes).is_ok()
        })
    })
}

/// The candidate font files, most preferred first.
fn font_files() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [
        "/usr/share/fonts",
        "/usr/local/share/fonts",
        "/Library/Fonts",
        "/System/Library/Fonts",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        dirs.extend([home.join(".local/share/fonts"), home.join(".fonts")]);
    }
    let mut found = Vec::new();
    for dir in &dirs {
        find_faces(dir, 4, &mut found);
    }
    found.sort_by_key(|(rank, _)| *rank);
    let chosen = std::env::var_os("DYAD_CHART_FONT").map(PathBuf::from);
    chosen
        .into_iter()
        .chain(found.into_iter().map(|(_, path)| path))
        .collect()
}

/// Collects the files under `dir` (down to `depth` levels) named as one of [`FACES`], with
/// the name's rank.
fn find_faces(dir: &Path, depth: usize, found: &mut Vec<(usize, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth > 0 {
                find_faces(&path, depth - 1, found);
            }
        } else if let Some(rank) = FACES.iter().position(|f| entry.file_name() == **f) {
            found.push((rank, path));
        }
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
        assert_eq!((w, h), (SIZE.0 as usize, SIZE.1 as usize));
        // The secure line's colour is there.
        let [r, g, b] = [31u16, 119, 180];
        let blue = ((r + g + b) / 3) as u8;
        assert!(gray.iter().filter(|&&v| v == blue).count() > 100);
    }

    #[test]
    fn a_chart_without_text_is_still_drawn() {
        let (w, h) = SIZE;
        let mut pixels = vec![0u8; 3 * (w * h) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            draw(&root, "not drawn", &lines(), false).expect("drawn");
            root.present().expect("presented");
        }
        let white = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let blue = pixels.chunks(3).filter(|p| p == &[31, 119, 180]).count();
        assert!(white > pixels.len() / 6 && blue > 100, "{white} {blue}");
    }
}
