//! The accuracy chart of a training run: test accuracy (%) against the SGD step, one line per
//! run (the secure job, the plaintext references).

use std::path::Path;

use crate::{ChartError, Panel};

/// One line of an accuracy chart: its legend entry and its (SGD step, accuracy) points.
pub type Line<'a> = (&'a str, Vec<(u64, f64)>);

/// Draws the test accuracy (%) of `lines` against the SGD step into the PNG file `path`, with
/// `title` and a legend.
pub fn chart(path: &Path, title: &str, lines: &[Line]) -> Result<(), ChartError> {
    crate::draw_png(path, title, "SGD step", &[accuracy_panel(lines)])
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let (w, h, gray) = dyad_server::datasets::png::decode_gray(&bytes).expect("a PNG");
        let (width, height) = crate::size(1);
        assert_eq!((w, h), (width as usize, height as usize));
        // The secure line's colour is there.
        let [r, g, b] = [31u16, 119, 180];
        let blue = ((r + g + b) / 3) as u8;
        assert!(gray.iter().filter(|&&v| v == blue).count() > 100);
    }

    #[test]
    fn a_chart_without_text_is_still_drawn() {
        use plotters::prelude::*;
        let (w, h) = crate::size(1);
        let mut pixels = vec![0u8; 3 * (w * h) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            let panels = [accuracy_panel(&lines())];
            crate::draw(&root, "not drawn", "step", &panels, false).expect("drawn");
            root.present().expect("presented");
        }
        let white = pixels.chunks(3).filter(|p| p == &[255, 255, 255]).count();
        let blue = pixels.chunks(3).filter(|p| p == &[31, 119, 180]).count();
        assert!(white > pixels.len() / 6 && blue > 100, "{white} {blue}");
    }
}
