//! Stockpile records of every kind: the first byte picks the kind, the rest is split into the
//! two halves whose relation is checked (decoding each with the kind's layout).
#![no_main]

use dyad_online::Prime;
use dyad_randomness::{Kind, relation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Some((&pick, rest)) = bytes.split_first() else {
        return;
    };
    let p = if pick & 1 == 0 { Prime::P67 } else { Prime::P40961 };
    let kind = match (pick >> 1) % 8 {
        0 => Kind::MatrixTriple {
            m: 1 + usize::from(pick >> 4 & 3),
            n: 2,
            k: 1 + usize::from(pick >> 6),
        },
        1 => Kind::ElementwiseTriple,
        2 => Kind::ComparisonBits,
        3 => Kind::DaBit,
        4 => Kind::BitTriple,
        5 => Kind::ComparisonMask { p },
        6 => Kind::ModpTriple { p },
        _ => Kind::ScaledModpTriple { p },
    };
    let (a, b) = rest.split_at(rest.len() / 2);
    let _ = relation::check(kind, [a, b]);
});
