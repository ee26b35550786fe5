//! A minimal PNG decoder for a client's input image: 8-bit grayscale, grayscale with alpha,
//! RGB or RGBA, not interlaced (what image editors and `PIL` write for a digit). Pixels come
//! out as gray levels.

use std::io::Read;

use super::DataFormatError;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// A malformed or unsupported PNG, unless `ok`.
fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), DataFormatError> {
    match ok {
        true => Ok(()),
        false => Err(DataFormatError::malformed(what())),
    }
}

/// Whether `bytes` start like a PNG file.
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

/// The image's width, height and gray levels (row by row; colour averaged, alpha ignored).
pub fn decode_gray(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), DataFormatError> {
    ensure(is_png(bytes), || "not a PNG file".into())?;
    let mut at = SIGNATURE.len();
    let (mut width, mut height, mut channels) = (0, 0, 0);
    let mut data = Vec::new();
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
        let kind = &bytes[at + 4..at + 8];
        let body = bytes.get(at + 8..at + 8 + len).ok_or_else(|| {
            DataFormatError::malformed("a PNG chunk runs past the end of the file")
        })?;
        match kind {
            b"IHDR" => {
                ensure(len == 13, || "malformed PNG header".into())?;
                width = u32::from_be_bytes(body[0..4].try_into().expect("4")) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().expect("4")) as usize;
                let (depth, colour, interlace) = (body[8], body[9], body[12]);
                channels = match colour {
                    0 => 1,
                    4 => 2,
                    2 => 3,
                    6 => 4,
                    _ => {
                        return Err(DataFormatError::malformed(format!(
                            "PNG colour type {colour} (palette?) is not supported; save as grayscale or RGB"
                        )));
                    }
                };
                ensure(depth == 8, || {
                    format!("PNG bit depth {depth} is not supported; use 8 bits")
                })?;
                ensure(interlace == 0, || {
                    "interlaced PNGs are not supported".into()
                })?;
            }
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    ensure(width > 0 && height > 0, || "the PNG has no header".into())?;
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..])
        .read_to_end(&mut raw)
        .map_err(DataFormatError::Deflate)?;
    let stride = width * channels;
    ensure((stride + 1).checked_mul(height) == Some(raw.len()), || {
        "the PNG image data has the wrong size".into()
    })?;
    let mut pixels = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 {
                pixels[(y - 1) * stride + x]
            } else {
                0
            };
            let c = if x >= channels && y > 0 {
                pixels[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                _ => {
                    return Err(DataFormatError::malformed(format!(
                        "unknown PNG filter {filter}"
                    )));
                }
            };
            pixels[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    let colour = channels - usize::from(channels % 2 == 0);
    let gray = pixels
        .chunks_exact(channels)
        .map(|p| (p[..colour].iter().map(|&v| u32::from(v)).sum::<u32>() / colour as u32) as u8)
        .collect();
    Ok((width, height, gray))
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use plotters::prelude::*;

    use super::*;

    #[test]
    fn reads_what_the_chart_encoder_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pixels.png");
        // A new bitmap is black.
        let image = BitMapBackend::new(&path, (5, 3)).into_drawing_area();
        image
            .draw_pixel((1, 2), &RGBColor(30, 60, 90))
            .expect("pixel");
        image.draw_pixel((4, 0), &WHITE).expect("pixel");
        image.present().expect("written");
        let bytes = std::fs::read(&path).expect("read");
        let (w, h, gray) = decode_gray(&bytes).expect("decode");
        assert_eq!((w, h), (5, 3));
        assert_eq!(gray[2 * 5 + 1], 60);
        assert_eq!(gray[4], 255);
        assert_eq!(gray[0], 0);
        assert!(decode_gray(b"\x89PNG\r\n\x1a\nshort").is_err());
    }

    #[test]
    fn undoes_every_filter() {
        // One 3x2 grayscale image, its two rows filtered with Sub and Paeth, by hand.
        let rows: [[u8; 3]; 2] = [[10, 20, 30], [15, 5, 40]];
        let mut raw = vec![1, 10, 10, 10]; // Sub
        raw.push(4); // Paeth: predictors for row 2 are b (above) for x=0, then Paeth.
        let mut prev = [0u8; 3];
        for x in 0..3 {
            let a = if x > 0 { rows[1][x - 1] } else { 0 };
            let c = if x > 0 { rows[0][x - 1] } else { 0 };
            prev[x] = rows[1][x].wrapping_sub(paeth(a, rows[0][x], c));
        }
        raw.extend_from_slice(&prev);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &raw).expect("deflate");
        let idat = z.finish().expect("deflate");
        let chunk = |kind: &[u8], body: &[u8]| {
            let mut c = (body.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(body);
            c.extend_from_slice(&[0; 4]); // CRC, unchecked
            c
        };
        let mut png = SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &[0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0]));
        png.extend(chunk(b"IDAT", &idat));
        png.extend(chunk(b"IEND", &[]));
        let (_, _, gray) = decode_gray(&png).expect("decode");
        assert_eq!(gray, [10, 20, 30, 15, 5, 40]);
    }
}
