//! **Test fixture only.** An in-process source of correlated randomness for tests and
//! benchmarks: both parties' instances run the same seeded PRG, generate each whole item, and
//! keep their own half. It is a trusted dealer in disguise, so it lives in this crate, which
//! only dev-dependencies and benchmarks reach; no binary and no end-to-end test may use it.
//! The real source is the stockpile, filled by the dealer-free offline generator.

use std::collections::HashMap;

use dyad_link::PartyId;
use ndarray::{Array1, Array2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use dyad_randomness::items::{BITS, MERGES, digit_products};
use dyad_randomness::*;

/// One party's side of the fixture.
pub struct Fixture {
    party: PartyId,
    rng: ChaCha20Rng,
    next_seq: HashMap<Kind, u64>,
    forced_masks: Vec<Z64>,
}

/// The two sides of a fixture: they produce the two halves of the same items.
pub fn pair(seed: u64) -> [Fixture; 2] {
    PartyId::BOTH.map(|party| Fixture {
        party,
        rng: ChaCha20Rng::seed_from_u64(seed),
        next_seq: HashMap::new(),
        forced_masks: Vec::new(),
    })
}

/// Splits values into two additive shares and keeps `party`'s.
fn keep<T: Copy + std::ops::Sub<Output = T>>(party: PartyId, secret: T, share0: T) -> T {
    match party {
        PartyId::P0 => share0,
        PartyId::P1 => secret - share0,
    }
}

impl Fixture {
    /// Makes the next comparison masks (of either kind) use these values of `r` (in order), so tests can reach
    /// cases a random mask almost never hits, such as an opened `x = 2^64 - 1`. Call it on
    /// both parties' fixtures with the same values.
    pub fn force_masks(&mut self, r: Vec<Z64>) {
        self.forced_masks = r;
    }

    fn tags(&mut self, kind: Kind, count: usize) -> Tags {
        let seq = self.next_seq.entry(kind).or_insert(0);
        let tags = Tags::contiguous(kind, *seq, count as u64);
        *seq += count as u64;
        tags
    }

    fn ring(&mut self, secret: Z64) -> Z64 {
        let share0 = Z64(self.rng.random());
        keep(self.party, secret, share0)
    }

    fn fp(&mut self, secret: Fp) -> Fp {
        let share0 = self.random_fp(secret.prime());
        keep(self.party, secret, share0)
    }

    fn xor(&mut self, secret: u8) -> u8 {
        let share0: u8 = self.rng.random_range(0..2);
        match self.party {
            PartyId::P0 => share0,
            PartyId::P1 => secret ^ share0,
        }
    }

    /// XOR shares of a word of bits.
    fn xor_word(&mut self, secret: u64) -> u64 {
        let share0: u64 = self.rng.random();
        match self.party {
            PartyId::P0 => share0,
            PartyId::P1 => secret ^ share0,
        }
    }

    fn random_fp(&mut self, p: Prime) -> Fp {
        p.element(self.rng.random_range(0..u64::from(p.value())))
    }

    /// Shares of these values, one column.
    fn fp_column(&mut self, secrets: &[Fp]) -> Array1<Fp> {
        secrets.iter().map(|&s| self.fp(s)).collect()
    }

    fn ring_vec(&mut self, secrets: &[Z64]) -> Array1<Z64> {
        secrets.iter().map(|&s| self.ring(s)).collect()
    }
}

fn batch<T: Item>(tags: Tags, items: T) -> Result<Batch<Items>, RandomnessError> {
    Ok(Batch {
        tags,
        items: items.into_items(),
    })
}

/// The dealers of each kind; [`Randomness::take_kind`] picks one.
impl Fixture {
    fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::MatrixTriple { m, n, k }, 1);
        // Each party's U_i, V_i from its own key, as the offline generator makes them.
        let seeds = [(); 2].map(|_| ShareSeed::random(&mut self.rng));
        let refused = |e: RecordError| RandomnessError::Source(e.to_string());
        let mine = self.party.index();
        let mut items =
            MatrixTriple::new(seeds[mine], (m, n, k), Array2::zeros((m, k))).map_err(refused)?;
        let (u_other, v_other) = seeds[1 - mine].expand(m, n, k).map_err(refused)?;
        let z = matmul(&(items.u() + &u_other), &(items.v() + &v_other));
        let z = z.mapv(|s| self.ring(s));
        items.set_z(z).map_err(refused)?;
        batch(tags, items)
    }

    fn elementwise_triples(&mut self, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::ElementwiseTriple, n);
        let u: Vec<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let v: Vec<Z64> = (0..n).map(|_| Z64(self.rng.random())).collect();
        let z: Vec<Z64> = u.iter().zip(&v).map(|(&a, &b)| a * b).collect();
        let items = ElementwiseTriples {
            u: self.ring_vec(&u),
            v: self.ring_vec(&v),
            z: self.ring_vec(&z),
        };
        batch(tags, items)
    }

    fn comparison_masks(&mut self, p: Prime, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::ComparisonMask { p }, n);
        let mut masks = ComparisonMasks {
            r: Array1::default(n),
            r_bits: Array2::from_elem((n, BITS), p.zero()),
            beta_r_bits: Array2::from_elem((n, BITS), p.zero()),
            beta: Array1::default(n),
            alpha: Array1::default(n),
        };
        let forced = std::mem::take(&mut self.forced_masks);
        for e in 0..n {
            let drawn = Z64(self.rng.random());
            let r = forced.get(e).copied().unwrap_or(drawn);
            let beta: u8 = self.rng.random_range(0..2);
            let r0 = Z64(self.rng.random());
            let r1 = r - r0;
            masks.r[e] = match self.party {
                PartyId::P0 => r0,
                PartyId::P1 => r1,
            };
            for j in 0..BITS {
                let bit = r.bit(j as u32);
                masks.r_bits[[e, j]] = self.fp(p.element(u64::from(bit)));
                masks.beta_r_bits[[e, j]] = self.fp(p.element(u64::from(bit & beta)));
            }
            masks.beta[e] = match self.party {
                PartyId::P0 => 0,
                PartyId::P1 => beta,
            };
            masks.alpha[e] = self.xor(Z64::wrap(r0, r1));
        }
        batch(tags, masks)
    }

    fn comparison_bits(&mut self, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::ComparisonBits, n);
        let forced = std::mem::take(&mut self.forced_masks);
        let mut masks = ComparisonBits::zeros(n);
        let slots = (1u32 << MERGES) - 1;
        for e in 0..n {
            let drawn = Z64(self.rng.random());
            let r = forced.get(e).copied().unwrap_or(drawn);
            let r0 = Z64(self.rng.random());
            masks.r[e] = keep(self.party, r, r0);
            masks.alpha[e] = self.xor(Z64::wrap(r0, r - r0));
            masks.r_xor[e] = self.xor_word(r.0);
            let digit_and = digit_products(r.0);
            masks.digit_and[e] = self.xor_word(u64::from(digit_and)) as u32;
            let u = self.rng.random::<u32>() & slots;
            let (v_lt, v_eq) = (
                self.rng.random::<u32>() & slots,
                self.rng.random::<u32>() & slots,
            );
            for (out, value) in [
                (&mut masks.u, u),
                (&mut masks.v_lt, v_lt),
                (&mut masks.v_eq, v_eq),
                (&mut masks.w_lt, u & v_lt),
                (&mut masks.w_eq, u & v_eq),
            ] {
                out[e] = self.xor_word(u64::from(value)) as u32 & slots;
            }
        }
        batch(tags, masks)
    }

    fn dabits(&mut self, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::DaBit, n);
        let mut items = DaBits {
            xor: Array1::default(n),
            ring: Array1::default(n),
        };
        for e in 0..n {
            let b: u8 = self.rng.random_range(0..2);
            items.xor[e] = self.xor(b);
            items.ring[e] = self.ring(Z64::from_bit(b));
        }
        batch(tags, items)
    }

    fn bit_triples(&mut self, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::BitTriple, n);
        let mut items = BitTriples {
            u: Array1::default(n),
            v_xor: Array1::default(n),
            v: Array1::default(n),
            z: Array1::default(n),
        };
        for e in 0..n {
            let (u, v) = (Z64(self.rng.random()), self.rng.random_range(0..2u8));
            items.u[e] = self.ring(u);
            items.v_xor[e] = self.xor(v);
            items.v[e] = self.ring(Z64::from_bit(v));
            items.z[e] = self.ring(u * Z64::from_bit(v));
        }
        batch(tags, items)
    }

    fn modp_triples(&mut self, p: Prime, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::ModpTriple { p }, n);
        let a: Vec<Fp> = (0..n).map(|_| self.random_fp(p)).collect();
        let b: Vec<Fp> = (0..n).map(|_| self.random_fp(p)).collect();
        let c: Vec<Fp> = a.iter().zip(&b).map(|(&a, &b)| a * b).collect();
        let items = ModpTriples {
            a: self.fp_column(&a),
            b: self.fp_column(&b),
            c: self.fp_column(&c),
        };
        batch(tags, items)
    }

    fn scaled_modp_triples(&mut self, p: Prime, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let tags = self.tags(Kind::ScaledModpTriple { p }, n);
        let a: Vec<Fp> = (0..n).map(|_| self.random_fp(p)).collect();
        let b: Vec<Fp> = (0..n).map(|_| self.random_fp(p)).collect();
        let m: Vec<Fp> = (0..n)
            .map(|_| p.element(self.rng.random_range(1..u64::from(p.value()))))
            .collect();
        let product =
            |x: &[Fp], y: &[Fp]| -> Vec<Fp> { x.iter().zip(y).map(|(&x, &y)| x * y).collect() };
        let (ma, mb) = (product(&m, &a), product(&m, &b));
        let mab = product(&ma, &b);
        let items = ScaledModpTriples {
            a: self.fp_column(&a),
            b: self.fp_column(&b),
            m: self.fp_column(&m),
            ma: self.fp_column(&ma),
            mb: self.fp_column(&mb),
            mab: self.fp_column(&mab),
        };
        batch(tags, items)
    }
}

impl Randomness for Fixture {
    async fn take_kind(&mut self, kind: Kind, n: usize) -> Result<Batch<Items>, RandomnessError> {
        match kind {
            Kind::MatrixTriple { m, n, k } => self.matrix_triple(m, n, k),
            Kind::ElementwiseTriple => self.elementwise_triples(n),
            Kind::ComparisonMask { p } => self.comparison_masks(p, n),
            Kind::ComparisonBits => self.comparison_bits(n),
            Kind::DaBit => self.dabits(n),
            Kind::BitTriple => self.bit_triples(n),
            Kind::ModpTriple { p } => self.modp_triples(p, n),
            Kind::ScaledModpTriple { p } => self.scaled_modp_triples(p, n),
        }
    }
}
