//! Drawing a chart: one or more panels stacked vertically, each with its own y axis and
//! lines, sharing the x axis.
//!
//! Text needs a TrueType font: plotters renders it in pure Rust (`ab_glyph`), from a font read
//! off the system at run time (see [`font_registered`]), since the repository ships none.
//! Without one the chart is still written, with its lines but no text (no title, ticks or
//! legend), and a note on standard error says so: a plain PNG where the caller expects one
//! beats a different file type, and the CSV beside it holds the numbers.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// One line: its legend entry and its (x, y) points.
pub type Line<'a> = (&'a str, Vec<(f64, f64)>);

/// One panel of a chart.
pub struct Panel<'a> {
    /// The y axis's description.
    pub y_desc: &'a str,
    /// The y range; `None` fits it to the lines (from 0).
    pub y_range: Option<Range<f64>>,
    /// Its lines, coloured in order.
    pub lines: Vec<Line<'a>>,
}

/// The height in pixels of one panel; the width of every chart.
const PANEL_HEIGHT: u32 = 480;
/// The width in pixels of every chart.
pub const WIDTH: u32 = 800;
/// Line colours, in order (matplotlib's ten).
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// The family the system font is registered under.
const FONT: &str = "sans-serif";

/// The size in pixels of a chart of `panels` panels.
pub fn size(panels: usize) -> (u32, u32) {
    (WIDTH, PANEL_HEIGHT * panels.max(1) as u32)
}

/// Draws `panels` against the x axis `x_desc` into the PNG file `path`, under `title`.
pub fn draw_png(
    path: &Path,
    title: &str,
    x_desc: &str,
    panels: &[Panel],
) -> Result<(), ChartError> {
    let text = font_registered();
    if !text {
        eprintln!(
            "note: no TrueType font found (set DYAD_CHART_FONT to a .ttf file); {} has no text",
            path.display()
        );
    }
    let root = BitMapBackend::new(path, size(panels.len())).into_drawing_area();
    draw(&root, title, x_desc, panels, text)
        .and_then(|()| root.present())
        .map_err(|e| ChartError {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// A chart that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart {}: {reason}", path.display())]
pub struct ChartError {
    /// The PNG file.
    pub path: PathBuf,
    /// What plotters said (its error type is generic over the drawing backend).
    pub reason: String,
}

/// Draws the chart onto `root`, with or without its text.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    panels: &[Panel],
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let points = || panels.iter().flat_map(|p| &p.lines).flat_map(|(_, ps)| ps);
    let (x_min, x_max) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (x_min, x_max) = if x_min < x_max {
        (x_min.min(0.0), x_max)
    } else {
        (0.0, 1.0)
    };
    // Room after the last point, so its marker is not cut by the frame.
    let x_range = x_min..x_max + (x_max - x_min) / 40.0;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (i, (panel, area)) in panels.iter().zip(&areas).enumerate() {
        let mut builder = ChartBuilder::on(area);
        builder.margin(16);
        if text {
            if i == 0 {
                builder.caption(title, (FONT, 22));
            }
            builder.x_label_area_size(48).y_label_area_size(70);
        }
        let y_range = panel.y_range.clone().unwrap_or_else(|| {
            let top = panel
                .lines
                .iter()
                .flat_map(|(_, ps)| ps.iter().map(|p| p.1))
                .fold(0.0, f64::max);
            0.0..if top > 0.0 { top * 1.05 } else { 1.0 }
        });
        let mut chart = builder.build_cartesian_2d(x_range.clone(), y_range)?;
        let mut mesh = chart.configure_mesh();
        mesh.bold_line_style(RGBColor(220, 220, 220))
            .light_line_style(WHITE);
        if text {
            mesh.x_desc(x_desc)
                .y_desc(panel.y_desc)
                .x_labels(12)
                .y_labels(11)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 16));
        }
        mesh.draw()?;
        for ((name, points), color) in panel.lines.iter().zip(COLORS.iter().cycle()) {
            let style = ShapeStyle {
                color: color.to_rgba(),
                filled: true,
                stroke_width: 2,
            };
            let series =
                chart.draw_series(
                    LineSeries::new(points.iter().copied(), style)
                        .point_size(if points.len() > 60 { 0 } else { 4 }),
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
