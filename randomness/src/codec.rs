//! The byte records the stockpile stores: each item of a stream is one fixed-size record, so
//! the store can count, split and hand out items knowing only their size. The offline
//! generator encodes with this module and the online runtime decodes with it.
//!
//! Records (all integers little-endian):
//!
//! | kind | record | bytes |
//! |---|---|---|
//! | matrix triple `(m,n,k)` | the [`crate::ShareSeed`] of `U`, `V` (16 bytes), `Z` (m·k), row-major u64 | 16 + 8mk |
//! | elementwise triple | `u`, `v`, `z` | 24 |
//! | comparison mask | `r` u64, `r_bits` 64 elements, `beta_r_bits` 64 elements, `beta`, `alpha` | 10 + 128w |
//! | comparison bits | `r` u64, `r_xor` u64, `digit_and` u32, `alpha` byte, `u`, `v_lt`, `v_eq`, `w_lt`, `w_eq` u32 | 41 |
//! | daBit | `xor` byte, `ring` u64 | 9 |
//! | bit triple | `u` u64, `v_xor` byte, `v` u64, `z` u64 | 25 |
//! | mod-p triple | `a`, `b`, `c` elements | 3w |
//! | scaled mod-p triple | `a`, `b`, `m`, `ma`, `mb`, `mab` elements | 6w |
//!
//! A `Z_p` element takes `w` bytes, little-endian: 1 for `p <= 256`, else 2
//! ([`crate::Prime::bytes`]).

use ndarray::{Array1, Array2};

use super::items::{BITS, Layout};
use super::*;
use crate::{Fp, Prime, SEED_BYTES, ShareSeed, Z64};

/// A batch layout that has a record encoding.
pub trait Codec: Sized {
    /// The records of all items, concatenated.
    fn encode(&self) -> Vec<u8>;
    /// Reads the records of `kind` in `bytes`; fails on a wrong length or a value out of range.
    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError>;
}

/// How many records of `kind` `bytes` holds.
fn records(kind: Kind, bytes: &[u8]) -> Result<usize, RecordError> {
    let size = kind.item_bytes();
    match bytes.len() % size {
        0 => Ok(bytes.len() / size),
        _ => Err(RecordError::Length {
            kind,
            bytes: bytes.len(),
            size,
        }),
    }
}

fn wrong(kind: Kind, layout: &'static str) -> RecordError {
    RecordError::WrongKind { kind, layout }
}

/// Sequential reads from a byte slice whose length was checked up front.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn z64(&mut self) -> Z64 {
        let (head, rest) = self.0.split_at(8);
        self.0 = rest;
        Z64(u64::from_le_bytes(head.try_into().expect("8 bytes")))
    }

    fn u32(&mut self) -> u32 {
        let (head, rest) = self.0.split_at(4);
        self.0 = rest;
        u32::from_le_bytes(head.try_into().expect("4 bytes"))
    }

    fn byte(&mut self) -> u8 {
        let (head, rest) = self.0.split_at(1);
        self.0 = rest;
        head[0]
    }

    fn fp(&mut self, prime: Prime) -> Result<Fp, RecordError> {
        let (head, rest) = self.0.split_at(prime.bytes());
        self.0 = rest;
        Ok(prime.read(head)?)
    }

    fn bit(&mut self) -> Result<u8, RecordError> {
        match self.byte() {
            b @ (0 | 1) => Ok(b),
            b => Err(RecordError::NotABit(b)),
        }
    }
}

fn put_z64(out: &mut Vec<u8>, v: Z64) {
    out.extend_from_slice(&v.0.to_le_bytes());
}

impl Codec for MatrixTriple {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEED_BYTES + 8 * self.z().len());
        out.extend_from_slice(&self.seed().0);
        for v in self.z() {
            put_z64(&mut out, *v);
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        let Kind::MatrixTriple { m, n, k } = kind else {
            return Err(wrong(kind, "a matrix triple"));
        };
        if records(kind, bytes)? != 1 {
            return Err(RecordError::Length {
                kind,
                bytes: bytes.len(),
                size: kind.item_bytes(),
            });
        }
        let (seed, z) = bytes.split_at(SEED_BYTES);
        let seed = ShareSeed(seed.try_into().expect("16 bytes"));
        let mut r = Reader(z);
        let z = Array2::from_shape_simple_fn((m, k), || r.z64());
        MatrixTriple::new(seed, (m, n, k), z)
    }
}

impl Codec for ElementwiseTriples {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 * self.u.len());
        for i in 0..self.u.len() {
            for v in [self.u[i], self.v[i], self.z[i]] {
                put_z64(&mut out, v);
            }
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        if kind != Kind::ElementwiseTriple {
            return Err(wrong(kind, "elementwise triples"));
        }
        let n = records(kind, bytes)?;
        let mut r = Reader(bytes);
        let (mut u, mut v, mut z) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for _ in 0..n {
            u.push(r.z64());
            v.push(r.z64());
            z.push(r.z64());
        }
        Ok(ElementwiseTriples {
            u: u.into(),
            v: v.into(),
            z: z.into(),
        })
    }
}

impl Codec for ComparisonMasks {
    fn encode(&self) -> Vec<u8> {
        let n = self.r.len();
        let mut out = Vec::with_capacity(n * (10 + 4 * BITS));
        for e in 0..n {
            put_z64(&mut out, self.r[e]);
            for bit in self.r_bits.row(e).iter().chain(self.beta_r_bits.row(e)) {
                bit.write(&mut out);
            }
            out.push(self.beta[e]);
            out.push(self.alpha[e]);
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        let Kind::ComparisonMask { p } = kind else {
            return Err(wrong(kind, "comparison masks"));
        };
        let n = records(kind, bytes)?;
        let (mut r_bits, mut beta_r_bits) =
            (Vec::with_capacity(n * BITS), Vec::with_capacity(n * BITS));
        let mut masks = ComparisonMasks {
            r: Array1::default(n),
            r_bits: Array2::from_elem((0, BITS), p.zero()),
            beta_r_bits: Array2::from_elem((0, BITS), p.zero()),
            beta: Array1::default(n),
            alpha: Array1::default(n),
        };
        let mut r = Reader(bytes);
        for e in 0..n {
            masks.r[e] = r.z64();
            for _ in 0..BITS {
                r_bits.push(r.fp(p)?);
            }
            for _ in 0..BITS {
                beta_r_bits.push(r.fp(p)?);
            }
            masks.beta[e] = r.bit()?;
            masks.alpha[e] = r.bit()?;
        }
        let matrix = |v| Array2::from_shape_vec((n, BITS), v).expect("n x 64 elements");
        masks.r_bits = matrix(r_bits);
        masks.beta_r_bits = matrix(beta_r_bits);
        Ok(masks)
    }
}

impl Codec for ComparisonBits {
    fn encode(&self) -> Vec<u8> {
        let n = self.r.len();
        let mut out = Vec::with_capacity(41 * n);
        for e in 0..n {
            put_z64(&mut out, self.r[e]);
            out.extend(self.r_xor[e].to_le_bytes());
            out.extend(self.digit_and[e].to_le_bytes());
            out.push(self.alpha[e]);
            for word in [&self.u, &self.v_lt, &self.v_eq, &self.w_lt, &self.w_eq] {
                out.extend(word[e].to_le_bytes());
            }
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        if kind != Kind::ComparisonBits {
            return Err(wrong(kind, "comparison bits"));
        }
        let n = records(kind, bytes)?;
        let mut masks = ComparisonBits::zeros(n);
        let mut r = Reader(bytes);
        for e in 0..n {
            masks.r[e] = r.z64();
            masks.r_xor[e] = r.z64().0;
            masks.digit_and[e] = r.u32();
            masks.alpha[e] = r.bit()?;
            for word in [
                &mut masks.u,
                &mut masks.v_lt,
                &mut masks.v_eq,
                &mut masks.w_lt,
                &mut masks.w_eq,
            ] {
                word[e] = r.u32();
            }
        }
        Layout::check(&masks, n)?;
        Ok(masks)
    }
}

impl Codec for DaBits {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 * self.xor.len());
        for i in 0..self.xor.len() {
            out.push(self.xor[i]);
            put_z64(&mut out, self.ring[i]);
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        if kind != Kind::DaBit {
            return Err(wrong(kind, "daBits"));
        }
        let n = records(kind, bytes)?;
        let mut r = Reader(bytes);
        let mut bits = DaBits {
            xor: Array1::default(n),
            ring: Array1::default(n),
        };
        for i in 0..n {
            bits.xor[i] = r.bit()?;
            bits.ring[i] = r.z64();
        }
        Ok(bits)
    }
}

impl Codec for BitTriples {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(25 * self.u.len());
        for i in 0..self.u.len() {
            put_z64(&mut out, self.u[i]);
            out.push(self.v_xor[i]);
            put_z64(&mut out, self.v[i]);
            put_z64(&mut out, self.z[i]);
        }
        out
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        if kind != Kind::BitTriple {
            return Err(wrong(kind, "bit triples"));
        }
        let n = records(kind, bytes)?;
        let mut r = Reader(bytes);
        let mut triples = BitTriples {
            u: Array1::default(n),
            v_xor: Array1::default(n),
            v: Array1::default(n),
            z: Array1::default(n),
        };
        for i in 0..n {
            triples.u[i] = r.z64();
            triples.v_xor[i] = r.bit()?;
            triples.v[i] = r.z64();
            triples.z[i] = r.z64();
        }
        Ok(triples)
    }
}

/// Reads `FIELDS` columns of `Z_p` elements (the prime of `kind`), one record per row.
fn decode_fp_columns<const FIELDS: usize>(
    kind: Kind,
    bytes: &[u8],
) -> Result<[Array1<Fp>; FIELDS], RecordError> {
    // The kind must be the one with FIELDS elements per record: a mod-p triple read as a
    // scaled one would run past its records.
    let p = match (kind, FIELDS) {
        (Kind::ModpTriple { p }, 3) | (Kind::ScaledModpTriple { p }, 6) => p,
        _ => return Err(wrong(kind, "mod-p triples of this width")),
    };
    let n = records(kind, bytes)?;
    let mut columns: [Vec<Fp>; FIELDS] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut r = Reader(bytes);
    for _ in 0..n {
        for column in &mut columns {
            column.push(r.fp(p)?);
        }
    }
    Ok(columns.map(Array1::from))
}

/// Writes columns of `Z_p` elements as records of one element per column.
fn encode_fp_columns(columns: &[&Array1<Fp>]) -> Vec<u8> {
    let n = columns.first().map_or(0, |c| c.len());
    let mut out = Vec::with_capacity(2 * n * columns.len());
    for i in 0..n {
        for column in columns {
            column[i].write(&mut out);
        }
    }
    out
}

impl Codec for ModpTriples {
    fn encode(&self) -> Vec<u8> {
        encode_fp_columns(&[&self.a, &self.b, &self.c])
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        let [a, b, c] = decode_fp_columns(kind, bytes)?;
        Ok(ModpTriples { a, b, c })
    }
}

impl Codec for ScaledModpTriples {
    fn encode(&self) -> Vec<u8> {
        encode_fp_columns(&[&self.a, &self.b, &self.m, &self.ma, &self.mb, &self.mab])
    }

    fn decode(kind: Kind, bytes: &[u8]) -> Result<Self, RecordError> {
        let [a, b, m, ma, mb, mab] = decode_fp_columns(kind, bytes)?;
        Ok(ScaledModpTriples {
            a,
            b,
            m,
            ma,
            mb,
            mab,
        })
    }
}
