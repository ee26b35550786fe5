//! Convolution as a matrix product (im2col) and its adjoint (col2im), for any element type.

use std::ops::Add;

use ndarray::{Array2, Array4};

/// The geometry of one convolution.
#[derive(Debug, Clone, Copy)]
pub struct ConvShape {
    /// Input channels, height, width.
    pub input: (usize, usize, usize),
    /// Kernel size, stride, padding.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

impl ConvShape {
    /// Output height and width.
    pub fn output(&self) -> (usize, usize) {
        let (_, h, w) = self.input;
        let size = |n: usize| (n + 2 * self.padding - self.kernel) / self.stride + 1;
        (size(h), size(w))
    }

    /// The input pixel under kernel offset `(ky, kx)` at output `(oy, ox)`, or `None` in the
    /// padding.
    fn source(&self, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let (_, h, w) = self.input;
        let y = (oy * self.stride + ky).checked_sub(self.padding)?;
        let x = (ox * self.stride + kx).checked_sub(self.padding)?;
        (y < h && x < w).then_some((y, x))
    }
}

/// `(B, C, H, W)` to the patch matrix `(B·oh·ow, C·k·k)`, zero in the padding.
pub fn im2col<E: Copy + Default>(x: &Array4<E>, shape: &ConvShape) -> Array2<E> {
    im2col_filled(x, shape, E::default())
}

/// [`im2col`] with `fill` in the padding.
pub fn im2col_filled<E: Copy>(x: &Array4<E>, shape: &ConvShape, fill: E) -> Array2<E> {
    let (b, c, _, _) = x.dim();
    let (oh, ow) = shape.output();
    let k = shape.kernel;
    Array2::from_shape_fn((b * oh * ow, c * k * k), |(row, col)| {
        let (n, oy, ox) = (row / (oh * ow), (row / ow) % oh, row % ow);
        let (ch, ky, kx) = (col / (k * k), (col / k) % k, col % k);
        shape
            .source(oy, ox, ky, kx)
            .map_or(fill, |(y, xx)| x[[n, ch, y, xx]])
    })
}

/// The adjoint of [`im2col`]: patch gradients `(B·oh·ow, C·k·k)` summed back onto the input.
pub fn col2im<E: Copy + Default + Add<Output = E>>(
    cols: &Array2<E>,
    batch: usize,
    shape: &ConvShape,
) -> Array4<E> {
    let (c, h, w) = shape.input;
    let (oh, ow) = shape.output();
    let k = shape.kernel;
    let mut x = Array4::from_elem((batch, c, h, w), E::default());
    for ((row, col), &v) in cols.indexed_iter() {
        let (n, oy, ox) = (row / (oh * ow), (row / ow) % oh, row % ow);
        let (ch, ky, kx) = (col / (k * k), (col / k) % k, col % k);
        if let Some((y, xx)) = shape.source(oy, ox, ky, kx) {
            x[[n, ch, y, xx]] = x[[n, ch, y, xx]] + v;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn im2col_matches_a_direct_convolution_and_col2im_is_its_adjoint() {
        let shape = ConvShape {
            input: (2, 6, 5),
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let x = Array4::from_shape_fn((2, 2, 6, 5), |(a, b, c, d)| {
            (a * 100 + b * 30 + c * 5 + d) as f64
        });
        let w = Array2::from_shape_fn((2 * 9, 3), |(i, j)| (i as f64 - 7.0) * 0.1 + j as f64);
        let cols = im2col(&x, &shape);
        let out = cols.dot(&w);
        let (oh, ow) = shape.output();
        assert_eq!((oh, ow), (3, 3));
        // Direct convolution at one output position.
        let (n, oy, ox, oc) = (1, 2, 1, 2);
        let mut direct = 0.0;
        for ch in 0..2 {
            for ky in 0..3 {
                for kx in 0..3 {
                    if let Some((y, xx)) = shape.source(oy, ox, ky, kx) {
                        direct += x[[n, ch, y, xx]] * w[[ch * 9 + ky * 3 + kx, oc]];
                    }
                }
            }
        }
        assert!((out[[n * oh * ow + oy * ow + ox, oc]] - direct).abs() < 1e-9);
        // <im2col(x), g> = <x, col2im(g)> for any g.
        let g = Array2::from_shape_fn(cols.dim(), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let lhs: f64 = (&cols * &g).sum();
        let rhs: f64 = (&x * &col2im(&g, 2, &shape)).sum();
        assert!((lhs - rhs).abs() < 1e-6);
    }
}
