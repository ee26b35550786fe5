//! A minimal PNG encoder: 8-bit RGB, one zlib-compressed IDAT chunk, no filtering. Enough for
//! the training curves; decoders everywhere read it.

use std::io::Write;

use flate2::Crc;
use flate2::write::ZlibEncoder;

/// An RGB image, row by row.
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 * width * height` bytes.
    pub pixels: Vec<u8>,
}

impl Rgb {
    /// A `width x height` image filled with `color`.
    pub fn new(width: usize, height: usize, color: [u8; 3]) -> Rgb {
        Rgb {
            width,
            height,
            pixels: color.repeat(width * height),
        }
    }

    /// Sets a pixel; outside the image, nothing happens.
    pub fn set(&mut self, x: i64, y: i64, color: [u8; 3]) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            let at = 3 * (y as usize * self.width + x as usize);
            self.pixels[at..at + 3].copy_from_slice(&color);
        }
    }

    /// The pixel at `(x, y)`.
    #[cfg(test)]
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let at = 3 * (y * self.width + x);
        self.pixels[at..at + 3].try_into().expect("3 bytes")
    }

    /// The PNG file.
    pub fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.height * (1 + 3 * self.width));
        for row in self.pixels.chunks_exact(3 * self.width) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&raw).expect("writing to memory");
        let idat = z.finish().expect("writing to memory");

        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace

        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Splits a PNG into its chunks, checking every CRC.
    fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut rest = &png[8..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().expect("4")) as usize;
            let kind: [u8; 4] = rest[4..8].try_into().expect("4");
            let data = rest[8..8 + len].to_vec();
            let mut crc = Crc::new();
            crc.update(&rest[4..8 + len]);
            assert_eq!(crc.sum().to_be_bytes(), rest[8 + len..12 + len]);
            out.push((kind, data));
            rest = &rest[12 + len..];
        }
        out
    }

    #[test]
    fn encodes_a_valid_png_holding_the_pixels() {
        let mut img = Rgb::new(5, 3, [255, 255, 255]);
        img.set(4, 2, [1, 2, 3]);
        img.set(9, 9, [0, 0, 0]);
        let parts = chunks(&img.png());
        let kinds: Vec<&[u8; 4]> = parts.iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
        assert_eq!(parts[0].1[..8], [0, 0, 0, 5, 0, 0, 0, 3]);
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&parts[1].1[..])
            .read_to_end(&mut raw)
            .expect("zlib");
        assert_eq!(raw.len(), 3 * (1 + 15));
        assert_eq!(
            raw[2 * 16..],
            [
                0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1, 2, 3
            ]
        );
    }
}
