//! Wrapping `u64` matrix multiplication, the hot path of Beaver matmul.
//!
//! `ndarray`'s `dot` only has fast kernels for floats, so this is a small GotoBLAS-style GEMM:
//! `B` is packed into panels `NR` columns wide and `KC` deep (an L1-sized block), `A` into
//! panels `MR` rows tall, and an `MR x NR` micro-kernel accumulates with wrapping
//! multiply-adds. On CPUs with AVX-512DQ the micro-kernel is written with intrinsics: it is
//! the only x86 extension with a 64-bit lane multiply (`vpmullq`), and the compiler does not
//! find it on its own. Elsewhere a portable kernel runs (scalar 64-bit multiplies).

use ndarray::{Array2, ArrayBase, Data, Ix2};

use crate::Z64;

/// Rows of `A` per micro-kernel call (accumulator rows).
const MR: usize = 8;
/// Columns of `B` per micro-kernel call: two 8-lane vectors.
const NR: usize = 16;
/// Depth of one packed block: an `NR x KC` panel of `B` (16 KiB) stays in L1 beside the
/// `MR x KC` panel of `A` (8 KiB); 128 measured best of 128/256/512.
const KC: usize = 128;

/// An `MR x NR` block of accumulators.
type Block = [[u64; NR]; MR];

/// `A · B` over `Z_{2^64}`. Panics if the inner dimensions differ: callers check shapes.
pub fn matmul<S1, S2>(a: &ArrayBase<S1, Ix2>, b: &ArrayBase<S2, Ix2>) -> Array2<Z64>
where
    S1: Data<Elem = Z64>,
    S2: Data<Elem = Z64>,
{
    let (m, n) = a.dim();
    let (n2, k) = b.dim();
    assert_eq!(n, n2, "matmul: inner dimensions differ");
    let mut c = Array2::<Z64>::zeros((m, k));
    if m > 0 && n > 0 && k > 0 {
        let a = a.as_standard_layout();
        let b = b.as_standard_layout();
        let a = Matrix {
            data: words(a.as_slice().expect("standard layout")),
            cols: n,
        };
        let b = Matrix {
            data: words(b.as_slice().expect("standard layout")),
            cols: k,
        };
        let c = bytemuck::cast_slice_mut(c.as_slice_mut().expect("fresh array"));
        dispatch(m, n, k, a, b, c);
    }
    c
}

fn words(s: &[Z64]) -> &[u64] {
    bytemuck::cast_slice(s)
}

/// A row-major matrix of words.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    data: &'a [u64],
    cols: usize,
}

#[allow(unsafe_code)]
fn dispatch(m: usize, n: usize, k: usize, a: Matrix, b: Matrix, c: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
    {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { avx512::gemm(m, n, k, a, b, c) };
        return;
    }
    gemm(m, n, k, a, b, c, portable_kernel);
}

/// `C += A · B` for row-major `C` (`m x k`), blocked over the depth `n`.
#[inline(always)]
fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: Matrix,
    b: Matrix,
    c: &mut [u64],
    kernel: impl Fn(&[u64], &[u64], &mut Block),
) {
    let row_panels = m.div_ceil(MR);
    let col_panels = k.div_ceil(NR);
    let mut packed_a = vec![0u64; row_panels * MR * KC];
    let mut packed_b = vec![0u64; col_panels * NR * KC];
    for p0 in (0..n).step_by(KC) {
        let kc = KC.min(n - p0);
        pack_b(b, p0, kc, k, &mut packed_b);
        pack_a(a, p0, kc, m, &mut packed_a);
        for jp in 0..col_panels {
            let b_panel = &packed_b[jp * NR * KC..][..NR * kc];
            for ip in 0..row_panels {
                let a_panel = &packed_a[ip * MR * KC..][..MR * kc];
                let mut acc = [[0u64; NR]; MR];
                kernel(a_panel, b_panel, &mut acc);
                let rows = MR.min(m - ip * MR);
                let cols = NR.min(k - jp * NR);
                for (r, acc_row) in acc.iter().enumerate().take(rows) {
                    let c_row = &mut c[(ip * MR + r) * k + jp * NR..][..cols];
                    for (cv, av) in c_row.iter_mut().zip(acc_row) {
                        *cv = cv.wrapping_add(*av);
                    }
                }
            }
        }
    }
}

/// `acc = A_panel · B_panel` over one depth block, one scalar multiply-add at a time.
fn portable_kernel(a_panel: &[u64], b_panel: &[u64], acc: &mut Block) {
    for (a_col, b_row) in a_panel.chunks_exact(MR).zip(b_panel.chunks_exact(NR)) {
        for (acc_row, &a_v) in acc.iter_mut().zip(a_col) {
            for (acc_v, &b_v) in acc_row.iter_mut().zip(b_row) {
                *acc_v = acc_v.wrapping_add(a_v.wrapping_mul(b_v));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi64, _mm512_mullo_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
    };

    use super::{Block, MR, Matrix, NR};

    /// [`super::gemm`] with the AVX-512 micro-kernel.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) fn gemm(m: usize, n: usize, k: usize, a: Matrix, b: Matrix, c: &mut [u64]) {
        super::gemm(m, n, k, a, b, c, |a_panel, b_panel, acc| {
            kernel(a_panel, b_panel, acc)
        })
    }

    /// 16 accumulator registers (8 rows x two 8-lane halves); per depth step two loads of
    /// `B`, eight broadcasts of `A` and sixteen `vpmullq`/`vpaddq` pairs.
    #[target_feature(enable = "avx512f,avx512dq")]
    fn kernel(a_panel: &[u64], b_panel: &[u64], acc: &mut Block) {
        let mut c = [[_mm512_setzero_si512(); 2]; MR];
        for (a_col, b_row) in a_panel.chunks_exact(MR).zip(b_panel.chunks_exact(NR)) {
            let (lo, hi) = b_row.split_at(8);
            let b0: __m512i = bytemuck::cast(<[u64; 8]>::try_from(lo).expect("8 lanes"));
            let b1: __m512i = bytemuck::cast(<[u64; 8]>::try_from(hi).expect("8 lanes"));
            for (c_row, &a_v) in c.iter_mut().zip(a_col) {
                let a = _mm512_set1_epi64(a_v as i64);
                c_row[0] = _mm512_add_epi64(c_row[0], _mm512_mullo_epi64(a, b0));
                c_row[1] = _mm512_add_epi64(c_row[1], _mm512_mullo_epi64(a, b1));
            }
        }
        for (acc_row, c_row) in acc.iter_mut().zip(&c) {
            let (lo, hi) = acc_row.split_at_mut(8);
            lo.copy_from_slice(&bytemuck::cast::<__m512i, [u64; 8]>(c_row[0]));
            hi.copy_from_slice(&bytemuck::cast::<__m512i, [u64; 8]>(c_row[1]));
        }
    }
}

/// Packs rows `p0..p0+kc` of `B` into `NR`-wide panels, zero-padded at the right edge.
#[inline(always)]
fn pack_b(b: Matrix, p0: usize, kc: usize, k: usize, out: &mut [u64]) {
    for (jp, panel) in out.chunks_exact_mut(NR * KC).enumerate() {
        for p in 0..kc {
            for j in 0..NR {
                let col = jp * NR + j;
                panel[p * NR + j] = if col < k {
                    b.data[(p0 + p) * b.cols + col]
                } else {
                    0
                };
            }
        }
    }
}

/// Packs columns `p0..p0+kc` of `A` into `MR`-tall panels stored column by column.
#[inline(always)]
fn pack_a(a: Matrix, p0: usize, kc: usize, m: usize, out: &mut [u64]) {
    for (ip, panel) in out.chunks_exact_mut(MR * KC).enumerate() {
        for p in 0..kc {
            for r in 0..MR {
                let row = ip * MR + r;
                panel[p * MR + r] = if row < m {
                    a.data[row * a.cols + p0 + p]
                } else {
                    0
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn naive(a: &Array2<Z64>, b: &Array2<Z64>) -> Array2<Z64> {
        let (m, n) = a.dim();
        let k = b.ncols();
        Array2::from_shape_fn((m, k), |(i, j)| (0..n).map(|p| a[[i, p]] * b[[p, j]]).sum())
    }

    #[test]
    fn matches_the_naive_product_on_awkward_shapes() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 256, 16),
            (9, 257, 17),
            (17, 600, 33),
            (0, 3, 2),
        ] {
            let a = Array2::from_shape_fn((m, n), |_| Z64(rng.random()));
            let b = Array2::from_shape_fn((n, k), |_| Z64(rng.random()));
            assert_eq!(matmul(&a, &b), naive(&a, &b), "shape {m}x{n}x{k}");
            // Transposed (non-contiguous) views take the same path.
            let bt = b.t().to_owned();
            assert_eq!(matmul(&a, &bt.t()), naive(&a, &b));
        }
    }

    #[test]
    fn the_portable_kernel_agrees() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (m, n, k) = (13, 300, 21);
        let a = Array2::from_shape_fn((m, n), |_| rng.random::<u64>());
        let b = Array2::from_shape_fn((n, k), |_| rng.random::<u64>());
        let mut c = vec![0u64; m * k];
        let (a_words, b_words) = (a.as_slice().expect("std"), b.as_slice().expect("std"));
        gemm(
            m,
            n,
            k,
            Matrix {
                data: a_words,
                cols: n,
            },
            Matrix {
                data: b_words,
                cols: k,
            },
            &mut c,
            portable_kernel,
        );
        let expect = naive(&a.mapv(Z64), &b.mapv(Z64));
        assert_eq!(c, expect.iter().map(|z| z.0).collect::<Vec<_>>());
    }
}
