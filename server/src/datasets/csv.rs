//! MNIST as CSV: per line the 784 pixel values (0..=255) of a 28x28 image, then its label.

use ndarray::Array2;

use super::{DataFormatError, Dataset};

const PIXELS: usize = 28 * 28;

/// Parses the whole file (blank lines are skipped; there is no header).
pub fn parse(text: &[u8]) -> Result<Dataset, DataFormatError> {
    let text = std::str::from_utf8(text).map_err(DataFormatError::NotText)?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let wrong = |problem: String| DataFormatError::Line {
            line: number + 1,
            problem,
        };
        let values: Vec<u8> = line
            .split(',')
            .map(|v| v.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|e| wrong(format!("values must be integers 0..=255: {e}")))?;
        if values.len() != PIXELS + 1 {
            return Err(wrong(format!(
                "{} values; MNIST rows have {PIXELS} pixels and a label",
                values.len()
            )));
        }
        if values[PIXELS] > 9 {
            return Err(wrong(format!("label {} is not a digit", values[PIXELS])));
        }
        pixels.extend(values[..PIXELS].iter().map(|&p| f64::from(p) / 255.0));
        labels.push(values[PIXELS]);
    }
    if labels.is_empty() {
        return Err(DataFormatError::Empty);
    }
    let images = Array2::from_shape_vec((labels.len(), PIXELS), pixels)
        .map_err(|e| DataFormatError::malformed(e.to_string()))?;
    Ok(Dataset {
        images,
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
