//! The public schedule of a training job: which examples go into which batch. Secure and
//! plaintext runs with the same seed see the same batches in the same order.

use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

use crate::Examples;

/// The order in which epoch `epoch` visits `n` training examples.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// The examples at `rows` as a batch of `size` (zero rows pad it): inputs shaped
/// `(size, channels, height, width)` and one-hot labels.
pub fn gather<E: Clone + num_traits::Zero>(
    examples: &Examples<E>,
    rows: &[usize],
    size: usize,
    shape: (usize, usize, usize),
) -> (ArrayD<E>, Array2<E>) {
    let pad = |a: &Array2<E>| {
        let mut out = Array2::zeros((size, a.ncols()));
        out.slice_mut(ndarray::s![..rows.len(), ..])
            .assign(&a.select(Axis(0), rows));
        out
    };
    let (c, h, w) = shape;
    let x = pad(&examples.x)
        .into_shape_with_order(IxDyn(&[size, c, h, w]))
        .expect("rows hold one example each");
    (x, pad(&examples.y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_permutations_fixed_by_seed_and_epoch() {
        let a = epoch_order(5, 0, 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(5, 0, 100));
        assert_ne!(a, epoch_order(5, 1, 100));
        assert_ne!(a, epoch_order(6, 0, 100));
    }

    #[test]
    fn gathers_and_pads() {
        let examples = Examples {
            x: Array2::from_shape_fn((3, 4), |(i, j)| (10 * i + j) as f64),
            y: Array2::from_shape_fn((3, 2), |(i, j)| (i == j) as u8 as f64),
        };
        let (x, y) = gather(&examples, &[2, 0], 4, (1, 2, 2));
        assert_eq!(x.shape(), [4, 1, 2, 2]);
        assert_eq!(x[[0, 0, 1, 1]], 23.0);
        assert_eq!(x[[1, 0, 0, 1]], 1.0);
        assert_eq!(x[[3, 0, 0, 1]], 0.0);
        assert_eq!(y.row(1).to_vec(), vec![1.0, 0.0]);
        assert_eq!(y.row(2).to_vec(), vec![0.0, 0.0]);
    }
}
