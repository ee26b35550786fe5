//! Several stored datasets as one training set (issue 31): many owners' data, trained on
//! together. Both servers take the datasets in the order of their names, so the examples line
//! up share by share; the job agreement compares what [`Union::agreement`] describes.

use ndarray::{Axis, concatenate};

use super::{DatasetStore, StoreError, meta::hex};
use crate::{DatasetShare, Examples};

/// The union of some datasets, as this server's share.
#[derive(Debug)]
pub struct Union {
    /// The training examples of every dataset one after another (likewise the test examples).
    pub share: DatasetShare,
    /// What both servers must agree on before a job takes randomness: each dataset's name,
    /// id, sizes and the digests of both servers' shares (as each owner said them), in order.
    /// Two servers holding the two halves of the same splits describe them identically.
    pub agreement: String,
}

/// The datasets `names` of `store` (their order does not matter: they are taken by name) as
/// one. They must have the same example shape, classes and encoding.
pub fn union(store: &DatasetStore, names: &[String]) -> Result<Union, StoreError> {
    let mut names = names.to_vec();
    names.sort();
    if names.is_empty() {
        return Err(StoreError::Union("no dataset named".into()));
    }
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::Union(format!("{:?} is named twice", twice[0])));
    }
    let loaded = store.load(&names)?;
    let (first_meta, first) = &loaded[0];
    let mut parts = Vec::new();
    for (meta, share) in &loaded {
        let kind = |s: &DatasetShare| (s.shape, s.classes, s.f);
        if kind(share) != kind(first) {
            return Err(StoreError::Union(format!(
                "{:?} holds examples of {:?}, {} classes at f = {}, and {:?} of {:?}, {} classes at f = {}",
                first_meta.name,
                first.shape,
                first.classes,
                first.f,
                meta.name,
                share.shape,
                share.classes,
                share.f
            )));
        }
        let [p0, p1] = meta.pair_digests(store.party);
        parts.push(format!(
            "{} (id {}, {}+{} examples, P0 share sha256 {}, P1 share sha256 {})",
            meta.name,
            meta.id,
            meta.train,
            meta.test,
            hex(&p0),
            hex(&p1)
        ));
    }
    let agreement = parts.join("; ");
    let joined = |pick: fn(&DatasetShare) -> &Examples<dyad_online::Z64>| {
        let x: Vec<_> = loaded.iter().map(|(_, s)| pick(s).x.view()).collect();
        let y: Vec<_> = loaded.iter().map(|(_, s)| pick(s).y.view()).collect();
        Examples {
            x: concatenate(Axis(0), &x).expect("the same width"),
            y: concatenate(Axis(0), &y).expect("the same width"),
        }
    };
    let train = joined(|s| &s.train);
    let test = joined(|s| &s.test);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(agreement.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    Ok(Union {
        share: DatasetShare {
            id,
            party: store.party,
            f: first.f,
            shape: first.shape,
            classes: first.classes,
            train,
            test,
        },
        agreement,
    })
}
