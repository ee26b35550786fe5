//! The IDX format MNIST is distributed in: a magic number giving the element type and the
//! number of dimensions, the dimensions as big-endian u32s, then the data.

use anyhow::{Context, bail, ensure};
use ndarray::Array2;

use super::Dataset;

/// Unsigned bytes (the only element type MNIST uses).
const UBYTE: u8 = 0x08;

/// An IDX file of unsigned bytes: its dimensions and data.
fn parse(bytes: &[u8]) -> anyhow::Result<(Vec<usize>, &[u8])> {
    ensure!(bytes.len() >= 4, "too short for an IDX header");
    ensure!(bytes[0] == 0 && bytes[1] == 0, "no IDX magic number");
    ensure!(
        bytes[2] == UBYTE,
        "element type {:#04x}, expected unsigned bytes",
        bytes[2]
    );
    let rank = usize::from(bytes[3]);
    let header = 4 + 4 * rank;
    ensure!(bytes.len() >= header, "truncated IDX header");
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .context("IDX dimensions overflow")?;
    let data = &bytes[header..];
    ensure!(
        data.len() == len,
        "IDX data has {} bytes, its dimensions say {len}",
        data.len()
    );
    Ok((dims, data))
}

/// An image file (`n x rows x cols`): one row of pixels scaled to `[0, 1]` per image, and the
/// image size `(rows, cols)`.
pub fn images(images: &[u8]) -> anyhow::Result<(Array2<f64>, (usize, usize))> {
    let (dims, pixels) = parse(images).context("the image file")?;
    let [n, rows, cols] = dims[..] else {
        bail!("the image file has {} dimensions, expected 3", dims.len());
    };
    ensure!(n > 0, "no examples");
    let images = Array2::from_shape_vec(
        (n, rows * cols),
        pixels.iter().map(|&p| f64::from(p) / 255.0).collect(),
    )?;
    Ok((images, (rows, cols)))
}

/// An image file (`n x rows x cols`) and its label file (`n`).
pub fn dataset(image_file: &[u8], labels: &[u8]) -> anyhow::Result<Dataset> {
    let (images, (rows, cols)) = images(image_file)?;
    let n = images.nrows();
    let (label_dims, labels) = parse(labels).context("the label file")?;
    ensure!(
        label_dims == [n],
        "{n} images but labels of shape {label_dims:?}"
    );
    if let Some(bad) = labels.iter().find(|&&l| l > 9) {
        bail!("label {bad} is not a digit");
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
