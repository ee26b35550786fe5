//! A client's inputs from a file: a PNG of a digit, an IDX image file (optionally gzipped), or
//! CSV rows of pixel values (0..=255; a trailing label is ignored).

use std::path::Path;

use ndarray::Array2;

use super::{DataFormatError, DatasetError, idx, png};

/// One row of pixels scaled to `[0, 1]` per image; each image must have `pixels` values.
pub fn load(path: &Path, pixels: usize) -> Result<Array2<f64>, DatasetError> {
    let bytes = super::read(path)?;
    let wrong = |reason| DatasetError::Format {
        what: path.display().to_string(),
        reason,
    };
    let images = if png::is_png(&bytes) {
        let (w, h, gray) = png::decode_gray(&bytes).map_err(wrong)?;
        if w * h != pixels {
            return Err(wrong(DataFormatError::malformed(format!(
                "a {w}x{h} image; the model takes {pixels} pixels"
            ))));
        }
        Array2::from_shape_vec(
            (1, pixels),
            gray.iter().map(|&g| f64::from(g) / 255.0).collect(),
        )
        .map_err(|e| wrong(DataFormatError::malformed(e.to_string())))?
    } else if bytes.starts_with(&[0, 0, 8]) {
        idx::images(&bytes).map_err(wrong)?.0
    } else {
        csv_rows(&bytes, pixels).map_err(wrong)?
    };
    if images.ncols() != pixels {
        return Err(wrong(DataFormatError::malformed(format!(
            "images of {} pixels; the model takes {pixels}",
            images.ncols()
        ))));
    }
    Ok(images)
}

fn csv_rows(bytes: &[u8], pixels: usize) -> Result<Array2<f64>, DataFormatError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| DataFormatError::malformed("neither PNG, IDX nor CSV text"))?;
    let mut values = Vec::new();
    let mut rows = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let wrong = |problem: String| DataFormatError::Line {
            line: n + 1,
            problem,
        };
        let row: Result<Vec<f64>, _> = line.split(',').map(|v| v.trim().parse::<f64>()).collect();
        let Ok(row) = row else {
            return Err(wrong("not numbers".into()));
        };
        if row.len() != pixels && row.len() != pixels + 1 {
            return Err(wrong(format!(
                "{} values, expected {pixels} pixels (and optionally a label)",
                row.len()
            )));
        }
        if !row[..pixels].iter().all(|v| (0.0..=255.0).contains(v)) {
            return Err(wrong("pixel values must be 0..=255".into()));
        }
        values.extend(row[..pixels].iter().map(|v| v / 255.0));
        rows += 1;
    }
    if rows == 0 {
        return Err(DataFormatError::Empty);
    }
    Array2::from_shape_vec((rows, pixels), values)
        .map_err(|e| DataFormatError::malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_rows_with_or_without_labels_and_refuses_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "0,255,51\n255,0,0,7\n").expect("write");
        let x = load(&path, 3).expect("reads");
        assert_eq!(x.dim(), (2, 3));
        assert_eq!(x[[0, 2]], 0.2);
        std::fs::write(&path, "0,255\n").expect("write");
        let err = load(&path, 3).expect_err("short row");
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
        std::fs::write(&path, "0,300,0\n").expect("write");
        assert!(load(&path, 3).is_err());
    }
}
