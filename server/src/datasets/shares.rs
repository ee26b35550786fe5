//! The data owner's side of the dataset shares (`dyad share`): every fixed-point pixel and
//! one-hot label split into two uniformly random additive shares, in the file format of
//! [`DatasetShare`] that the training jobs read.

use dyad_online::{FixedPoint, Z64, sharing};
use ndarray::Array2;
use rand::Rng;

use super::{Dataset, DatasetError};
use crate::{DatasetShare, Examples};

/// A dataset encoded in fixed point. Every value must be within the operand limit that keeps
/// the servers' truncations inside their window (`FixedPoint::encode_operand`; PROTOCOLS.md,
/// "Accepted departures"): pixels scaled to `[0, 1]` always are (unless `f` leaves less than
/// 1.0), and a value beyond it is refused with its example and position. `set` names the
/// dataset in that refusal ("training set", "test set").
pub fn encode(
    data: &Dataset,
    fixed: FixedPoint,
    set: &'static str,
) -> Result<Examples<Z64>, DatasetError> {
    let examples = data.examples();
    let encode = |what: &'static str, values: &Array2<f64>| {
        let mut out = Array2::from_elem(values.dim(), Z64::ZERO);
        for ((example, index), &v) in values.indexed_iter() {
            out[[example, index]] =
                fixed
                    .encode_operand(v)
                    .map_err(|source| DatasetError::Encode {
                        set,
                        example,
                        what,
                        index,
                        source,
                    })?;
        }
        Ok(out)
    };
    Ok(Examples {
        x: encode("value", &examples.x)?,
        y: encode("label entry", &examples.y)?,
    })
}

/// Splits a training and a test set into the two servers' shares.
pub fn split(
    train: &Dataset,
    test: &Dataset,
    fixed: FixedPoint,
    rng: &mut impl Rng,
) -> Result<[DatasetShare; 2], DatasetError> {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut halves = |e: Examples<Z64>| {
        let ([x0, x1], [y0, y1]) = (sharing::split(&e.x, rng), sharing::split(&e.y, rng));
        [Examples { x: x0, y: y0 }, Examples { x: x1, y: y1 }]
    };
    let [train0, train1] = halves(encode(train, fixed, "training set")?);
    let [test0, test1] = halves(encode(test, fixed, "test set")?);
    let share = |party, train_half, test_half| DatasetShare {
        id,
        party,
        f: fixed.f,
        shape: train.shape,
        classes: train.classes,
        train: train_half,
        test: test_half,
    };
    Ok([share(0, train0, test0), share(1, train1, test1)])
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn shares_reconstruct_the_encoded_data_and_survive_a_round_trip() {
        let (train, test) = crate::datasets::bundled()
            .expect("bundled")
            .split(20, 7, 3)
            .expect("split");
        let fixed = FixedPoint::default();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let [s0, s1] = split(&train, &test, fixed, &mut rng).expect("pixels are in [0, 1]");
        assert_eq!(s0.id, s1.id);
        let want = encode(&train, fixed, "training set").expect("in range");
        assert_eq!(&s0.train.x + &s1.train.x, want.x);
        assert_eq!(&s0.train.y + &s1.train.y, want.y);
        assert_eq!(
            &s0.test.y + &s1.test.y,
            encode(&test, fixed, "test set").expect("in range").y
        );
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

    #[test]
    fn a_value_just_beyond_the_operand_limit_is_refused_with_its_example_and_position() {
        let (mut data, _) = crate::datasets::bundled()
            .expect("bundled")
            .split(3, 1, 1)
            .expect("split");
        let fixed = FixedPoint::default();
        let limit = fixed.operand_limit();
        data.images[[1, 5]] = limit;
        data.images[[2, 7]] = -limit;
        let encoded = encode(&data, fixed, "training set").expect("just inside");
        assert_eq!(fixed.decode(encoded.x[[1, 5]]), limit);
        data.images[[2, 9]] = limit + fixed.ulp();
        let err = encode(&data, fixed, "training set").expect_err("just beyond");
        let text = format!("{err:#}");
        assert!(
            text.contains("example 2, value 9")
                && text.contains(&(limit + fixed.ulp()).to_string())
                && text.contains(&format!("±{limit}")),
            "{text}"
        );
        // Pixels in [0, 1] at a format whose limit is below 1.0 are refused too, not panicked on.
        assert!(encode(&data, FixedPoint::new(25).expect("valid"), "training set").is_err());
    }
}
