//! MNIST as CSV: per line the 784 pixel values (0..=255) of a 28x28 image, then its label.

use anyhow::{Context, bail};
use ndarray::Array2;

use super::Dataset;

const PIXELS: usize = 28 * 28;

/// Parses the whole file (blank lines are skipped; there is no header).
pub fn parse(text: &[u8]) -> anyhow::Result<Dataset> {
    let text = std::str::from_utf8(text).context("not text")?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("line {}", number + 1);
        let values: Vec<u8> = line
            .split(',')
            .map(|v| v.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: values must be integers 0..=255", at()))?;
        if values.len() != PIXELS + 1 {
            bail!(
                "{}: {} values; MNIST rows have {PIXELS} pixels and a label",
                at(),
                values.len()
            );
        }
        if values[PIXELS] > 9 {
            bail!("{}: label {} is not a digit", at(), values[PIXELS]);
        }
        pixels.extend(values[..PIXELS].iter().map(|&p| f64::from(p) / 255.0));
        labels.push(values[PIXELS]);
    }
    if labels.is_empty() {
        bail!("no examples");
    }
    Ok(Dataset {
        images: Array2::from_shape_vec((labels.len(), PIXELS), pixels)?,
        labels,
        shape: (1, 28, 28),
        classes: 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pixel: u8, label: &str) -> String {
        let mut v = vec![pixel.to_string(); PIXELS];
        v.push(label.into());
        v.join(",")
    }

    #[test]
    fn reads_rows_and_scales_pixels() {
        let text = format!("{}\n\n{}\n", row(255, "7"), row(0, "0"));
        let d = parse(text.as_bytes()).expect("valid");
        assert_eq!(d.labels, vec![7, 0]);
        assert_eq!(d.images.dim(), (2, PIXELS));
        assert_eq!(d.images[[0, 5]], 1.0);
        assert_eq!(d.images[[1, 5]], 0.0);
    }

    #[test]
    fn rejects_malformed_rows_with_the_line() {
        let short = "1,2,3\n";
        assert!(format!("{:#}", parse(short.as_bytes()).expect_err("short")).contains("line 1"));
        let bad_label = format!("{}\n", row(1, "12"));
        assert!(
            format!("{:#}", parse(bad_label.as_bytes()).expect_err("label"))
                .contains("not a digit")
        );
        let bad_pixel = format!("{}\n", row(1, "3").replacen("1", "300", 1));
        assert!(parse(bad_pixel.as_bytes()).is_err());
        assert!(parse(b"").is_err());
    }
}
