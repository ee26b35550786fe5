//! The IDX format MNIST is distributed in: a magic number giving the element type and the
//! number of dimensions, the dimensions as big-endian u32s, then the data.

use ndarray::Array2;

use super::{DataFormatError, Dataset};

/// A malformed IDX file, unless `ok`.
fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), DataFormatError> {
    match ok {
        true => Ok(()),
        false => Err(DataFormatError::malformed(what())),
    }
}

/// Unsigned bytes (the only element type MNIST uses).
const UBYTE: u8 = 0x08;

/// An IDX file of unsigned bytes: its dimensions and data.
fn parse(bytes: &[u8]) -> Result<(Vec<usize>, &[u8]), DataFormatError> {
    ensure(bytes.len() >= 4, || "too short for an IDX header".into())?;
    ensure(bytes[0] == 0 && bytes[1] == 0, || {
        "no IDX magic number".into()
    })?;
    ensure(bytes[2] == UBYTE, || {
        format!("element type {:#04x}, expected unsigned bytes", bytes[2])
    })?;
    let rank = usize::from(bytes[3]);
    let header = 4 + 4 * rank;
    ensure(bytes.len() >= header, || "truncated IDX header".into())?;
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| DataFormatError::malformed("IDX dimensions overflow"))?;
    let data = &bytes[header..];
    ensure(data.len() == len, || {
        format!(
            "IDX data has {} bytes, its dimensions say {len}",
            data.len()
        )
    })?;
    Ok((dims, data))
}

/// `parse` of one of a pair of files, named in its failure.
fn parse_file<'a>(bytes: &'a [u8], which: &str) -> Result<(Vec<usize>, &'a [u8]), DataFormatError> {
    parse(bytes).map_err(|e| DataFormatError::malformed(format!("{which}: {e}")))
}

/// An image file (`n x rows x cols`): one row of pixels scaled to `[0, 1]` per image, and the
/// image size `(rows, cols)`.
pub fn images(images: &[u8]) -> Result<(Array2<f64>, (usize, usize)), DataFormatError> {
    let (dims, pixels) = parse_file(images, "the image file")?;
    let [n, rows, cols] = dims[..] else {
        return Err(DataFormatError::malformed(format!(
            "the image file has {} dimensions, expected 3",
            dims.len()
        )));
    };
    if n == 0 {
        return Err(DataFormatError::Empty);
    }
    let images = Array2::from_shape_vec(
        (n, rows * cols),
        pixels.iter().map(|&p| f64::from(p) / 255.0).collect(),
    )
    .map_err(|e| DataFormatError::malformed(e.to_string()))?;
    Ok((images, (rows, cols)))
}

/// An image file (`n x rows x cols`) and its label file (`n`).
pub fn dataset(image_file: &[u8], labels: &[u8]) -> Result<Dataset, DataFormatError> {
    let (images, (rows, cols)) = images(image_file)?;
    let n = images.nrows();
    let (label_dims, labels) = parse_file(labels, "the label file")?;
    ensure(label_dims == [n], || {
        format!("{n} images but labels of shape {label_dims:?}")
    })?;
    if let Some(bad) = labels.iter().find(|&&l| l > 9) {
        return Err(DataFormatError::malformed(format!(
            "label {bad} is not a digit"
        )));
    }
    Ok(Dataset {
        images,
        labels: labels.to_vec(),
        shape: (1, rows, cols),
        classes: 10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, UBYTE, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_images_and_labels() {
        let images = idx(&[2, 2, 3], &[0, 255, 0, 0, 0, 0, 51, 0, 0, 0, 0, 0]);
        let labels = idx(&[2], &[3, 9]);
        let d = dataset(&images, &labels).expect("valid");
        assert_eq!(d.shape, (1, 2, 3));
        assert_eq!(d.labels, vec![3, 9]);
        assert_eq!(d.images[[0, 1]], 1.0);
        assert_eq!(d.images[[1, 0]], 0.2);
    }

    #[test]
    fn rejects_mismatched_or_malformed_files() {
        let images = idx(&[2, 2, 3], &[0; 12]);
        assert!(dataset(&images, &idx(&[3], &[1, 2, 3])).is_err());
        assert!(dataset(&images, &idx(&[2], &[1, 12])).is_err());
        assert!(dataset(&images[..10], &idx(&[2], &[1, 2])).is_err());
        assert!(dataset(&idx(&[2, 6], &[0; 12]), &idx(&[2], &[1, 2])).is_err());
        assert!(dataset(b"PK\x03\x04", &idx(&[2], &[1, 2])).is_err());
    }
}
