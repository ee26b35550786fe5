//! The data owner's side of the dataset shares (`dyad share`): every fixed-point pixel and
//! one-hot label split into two uniformly random additive shares, in the file format of
//! [`DatasetShare`] that the training jobs read.

use dyad_online::{FixedPoint, Z64, sharing};
use dyad_server::{DatasetShare, Examples};
use rand::Rng;

use super::Dataset;

/// A dataset encoded in fixed point.
pub fn encode(data: &Dataset, fixed: FixedPoint) -> Examples<Z64> {
    let examples = data.examples();
    let enc = |v: f64| fixed.encode(v).expect("pixels and labels are in [0, 1]");
    Examples {
        x: examples.x.mapv(enc),
        y: examples.y.mapv(enc),
    }
}

/// Splits a training and a test set into the two servers' shares.
pub fn split(
    train: &Dataset,
    test: &Dataset,
    fixed: FixedPoint,
    rng: &mut impl Rng,
) -> [DatasetShare; 2] {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut halves = |e: Examples<Z64>| {
        let ([x0, x1], [y0, y1]) = (sharing::split(&e.x, rng), sharing::split(&e.y, rng));
        [Examples { x: x0, y: y0 }, Examples { x: x1, y: y1 }]
    };
    let [train0, train1] = halves(encode(train, fixed));
    let [test0, test1] = halves(encode(test, fixed));
    let share = |party, train_half, test_half| DatasetShare {
        id,
        party,
        f: fixed.f,
        shape: train.shape,
        classes: train.classes,
        train: train_half,
        test: test_half,
    };
    [share(0, train0, test0), share(1, train1, test1)]
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn shares_reconstruct_the_encoded_data_and_survive_a_round_trip() {
        let (train, test) = crate::data::bundled()
            .expect("bundled")
            .split(20, 7, 3)
            .expect("split");
        let fixed = FixedPoint::default();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let [s0, s1] = split(&train, &test, fixed, &mut rng);
        assert_eq!(s0.id, s1.id);
        let want = encode(&train, fixed);
        assert_eq!(&s0.train.x + &s1.train.x, want.x);
        assert_eq!(&s0.train.y + &s1.train.y, want.y);
        assert_eq!(&s0.test.y + &s1.test.y, encode(&test, fixed).y);
        // A share alone is not the data.
        assert_ne!(s0.train.x, want.x);

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p1.data");
        s1.write(&path).expect("write");
        assert_eq!(DatasetShare::read(&path).expect("read"), s1);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.pop();
        std::fs::write(&path, &bytes).expect("write");
        assert!(DatasetShare::read(&path).is_err());
    }
}
