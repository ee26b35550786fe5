//! Line charts as PNG files (the training curves): axes with labelled ticks, a title, a legend,
//! one polyline with markers per series. Self-contained: a 5x7 bitmap font and a small PNG
//! encoder.

mod font;
mod png;

use std::path::Path;

pub use png::Rgb;

/// Colours for series, in order.
pub const PALETTE: [[u8; 3]; 4] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]];

const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const GRID: [u8; 3] = [225, 225, 225];
const WIDTH: usize = 720;
const HEIGHT: usize = 440;
/// Margins around the plot area: left, right, top, bottom.
const MARGIN: [i64; 4] = [70, 20, 44, 50];

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// Its colour.
    pub color: [u8; 3],
    /// Its points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Above the plot.
    pub title: String,
    /// Under the x axis.
    pub x_label: String,
    /// Above the y axis.
    pub y_label: String,
    /// The y axis range; from the data if `None`.
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub series: Vec<Series>,
}

/// Maps data coordinates to pixels.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64, y: f64) -> (i64, i64) {
        let [left, right, top, bottom] = MARGIN;
        let w = (WIDTH as i64 - left - right) as f64;
        let h = (HEIGHT as i64 - top - bottom) as f64;
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0);
        (
            left + (fx * w).round() as i64,
            HEIGHT as i64 - bottom - (fy * h).round() as i64,
        )
    }
}

/// A range covering `values`, never empty.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    match (lo.is_finite(), hi > lo) {
        (true, true) => (lo, hi),
        (true, false) => (lo - 1.0, lo + 1.0),
        _ => (0.0, 1.0),
    }
}

/// About five round tick values across `range`.
fn ticks((lo, hi): (f64, f64)) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

fn label(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Chart {
    /// Draws the chart.
    pub fn render(&self) -> Rgb {
        let mut img = Rgb::new(WIDTH, HEIGHT, WHITE);
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let frame = Frame {
            x: span(all().map(|p| p.0)),
            y: self.y_range.unwrap_or_else(|| span(all().map(|p| p.1))),
        };
        let [left, right, top, bottom] = MARGIN;
        let (x_end, y_end) = (WIDTH as i64 - right, HEIGHT as i64 - bottom);
        for t in ticks(frame.y) {
            let (_, py) = frame.px(frame.x.0, t);
            line(&mut img, (left, py), (x_end, py), GRID, 1);
            let text = label(t);
            text_at(
                &mut img,
                left - 8 - width(&text, 1),
                py - 3,
                &text,
                1,
                BLACK,
            );
        }
        for t in ticks(frame.x) {
            let (px, _) = frame.px(t, frame.y.0);
            line(&mut img, (px, top), (px, y_end), GRID, 1);
            let text = label(t);
            text_at(
                &mut img,
                px - width(&text, 1) / 2,
                y_end + 8,
                &text,
                1,
                BLACK,
            );
        }
        line(&mut img, (left, top), (left, y_end), BLACK, 1);
        line(&mut img, (left, y_end), (x_end, y_end), BLACK, 1);

        for s in &self.series {
            let pts: Vec<(i64, i64)> = s.points.iter().map(|&(x, y)| frame.px(x, y)).collect();
            for pair in pts.windows(2) {
                line(&mut img, pair[0], pair[1], s.color, 2);
            }
            for &(x, y) in &pts {
                fill(&mut img, (x - 2, y - 2), (5, 5), s.color);
            }
        }

        let center = |text: &str, scale| WIDTH as i64 / 2 - width(text, scale) / 2;
        text_at(&mut img, center(&self.title, 2), 12, &self.title, 2, BLACK);
        text_at(
            &mut img,
            center(&self.x_label, 1),
            HEIGHT as i64 - 20,
            &self.x_label,
            1,
            BLACK,
        );
        text_at(&mut img, 8, top - 14, &self.y_label, 1, BLACK);
        // Legend, top right inside the plot.
        let legend_width = self
            .series
            .iter()
            .map(|s| width(&s.name, 1))
            .max()
            .unwrap_or(0);
        for (i, s) in self.series.iter().enumerate() {
            let (x, y) = (x_end - legend_width - 30, top + 10 + 14 * i as i64);
            fill(&mut img, (x, y), (12, 7), s.color);
            text_at(&mut img, x + 18, y, &s.name, 1, BLACK);
        }
        img
    }

    /// Writes the chart as a PNG file.
    pub fn write_png(&self, path: &Path) -> anyhow::Result<()> {
        crate::files::write_atomically(path, &self.render().png())
    }
}

fn width(text: &str, scale: i64) -> i64 {
    (text.chars().count() * font::ADVANCE) as i64 * scale
}

fn text_at(img: &mut Rgb, x: i64, y: i64, text: &str, scale: i64, color: [u8; 3]) {
    for (i, c) in text.chars().enumerate() {
        let x0 = x + (i * font::ADVANCE) as i64 * scale;
        for (row, bits) in font::glyph(c).iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let at = (x0 + col * scale, y + row as i64 * scale);
                    fill(img, at, (scale, scale), color);
                }
            }
        }
    }
}

fn fill(img: &mut Rgb, (x, y): (i64, i64), (w, h): (i64, i64), color: [u8; 3]) {
    for dy in 0..h {
        for dx in 0..w {
            img.set(x + dx, y + dy, color);
        }
    }
}

/// Bresenham's line, `thickness` pixels wide.
fn line(
    img: &mut Rgb,
    (mut x, mut y): (i64, i64),
    (x1, y1): (i64, i64),
    color: [u8; 3],
    thickness: i64,
) {
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = ((x1 - x).signum(), (y1 - y).signum());
    let mut err = dx + dy;
    loop {
        fill(img, (x, y), (thickness, thickness), color);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(
            ticks((0.0, 1.0)),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(ticks((1.0, 10.0)), vec![2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(label(0.30000000000000004), "0.3");
        assert_eq!(span([3.0].into_iter()), (2.0, 4.0));
    }

    #[test]
    fn draws_each_series_where_its_points_are() {
        let chart = Chart {
            title: "Test accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            y_range: Some((0.0, 1.0)),
            series: vec![
                Series {
                    name: "secure".into(),
                    color: PALETTE[0],
                    points: vec![(1.0, 0.5), (3.0, 0.5)],
                },
                Series {
                    name: "plain".into(),
                    color: PALETTE[1],
                    points: vec![(1.0, 0.0), (3.0, 1.0)],
                },
            ],
        };
        let img = chart.render();
        let frame = Frame {
            x: (1.0, 3.0),
            y: (0.0, 1.0),
        };
        let (x, y) = frame.px(2.0, 0.5);
        // Both lines cross the middle of the plot.
        let near = |color| {
            (-2..=2)
                .any(|dy| (-2..=2).any(|dx| img.get((x + dx) as usize, (y + dy) as usize) == color))
        };
        assert!(near(PALETTE[0]));
        assert!(near(PALETTE[1]));
        let (x, y) = frame.px(2.25, 0.3);
        assert_eq!(img.get(x as usize, y as usize), WHITE);
        assert!(img.png().starts_with(b"\x89PNG"));
    }
}
