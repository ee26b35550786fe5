//! Correlated OT over small rings, derived from CryProt's IKNP random OTs.
//!
//! In one COT the sender fixes a correlation `delta` (a short vector of fields, each in
//! `Z_{2^w}` for some width `w`, or in `Z_p` for a prime `p`) and the receiver a choice bit `b`. The sender
//! learns a random `-s` and the receiver `s + b·delta`: additive shares of `b·delta`.
//!
//! From a random OT the sender holds keys `k0, k1`, the receiver `k_b`. Both expand keys into
//! field values with the fixed-key AES hash (`s0 = G(k0)`, `s1 = G(k1)`); the sender sends the
//! correction `s0 - s1 + delta` (exactly `w` bits per ring field, `ceil(log2 p)` per `Z_p`
//! field) and the
//! receiver adds it if `b = 1`: `s1 + s0 - s1 + delta = s0 + delta`. The receiver's choice
//! stays hidden by the OT; the correction is masked by `s1`, unknown to the receiver when
//! `b = 0`.
//!
//! Many COTs of several shapes ("groups") run in one OT extension call and one correction
//! message, up to [`OT_CALL`] OTs a call, so a batch costs a few flights.

use cryprot_core::Block;
use cryprot_core::aes_hash::FIXED_KEY_HASH;
use cryprot_ot::extension::{SemiHonestOtExtensionReceiver, SemiHonestOtExtensionSender};
use cryprot_ot::{RotReceiver, RotSender};
use dyad_link::{Channel, PartyLink};
use subtle::Choice;

use crate::OfflineError;
use crate::bit_packing::{BitReader, BitWriter};

/// One field of a COT's correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// An element of `Z_{2^w}`, `1 <= w <= 64`, as the low `w` bits of a `u64`.
    Ring(u32),
    /// An element of `Z_p` for a prime `p < 2^16`, as a `u64` below `p`.
    Modp(u32),
}

impl Field {
    fn bits(self) -> u32 {
        match self {
            Field::Ring(w) => w,
            Field::Modp(p) => 32 - (p - 1).leading_zeros(),
        }
    }

    /// A uniform 64-bit word as a uniform element: the low `w` bits, or `floor(v·p / 2^64)`
    /// for `Z_p` (uniform up to a bias of `p/2^64 < 2^-48`, as `v mod p` would be, and a
    /// multiplication instead of a division).
    #[inline]
    fn uniform(self, v: u64) -> u64 {
        match self {
            Field::Ring(w) => v & ring_mask(w),
            Field::Modp(p) => ((u128::from(v) * u128::from(p)) >> 64) as u64,
        }
    }

    /// `a + b` for elements `a, b` of the field.
    #[inline]
    pub(crate) fn add(self, a: u64, b: u64) -> u64 {
        match self {
            Field::Ring(w) => a.wrapping_add(b) & ring_mask(w),
            Field::Modp(p) => {
                let s = a + b;
                if s >= u64::from(p) {
                    s - u64::from(p)
                } else {
                    s
                }
            }
        }
    }

    /// `-a` for an element `a` of the field.
    #[inline]
    fn neg(self, a: u64) -> u64 {
        match self {
            Field::Ring(w) => a.wrapping_neg() & ring_mask(w),
            Field::Modp(_) if a == 0 => 0,
            Field::Modp(p) => u64::from(p) - a,
        }
    }

    /// The element of a small signed value, `|v| < 2^w` and `|v| < p`.
    #[inline]
    pub(crate) fn small(self, v: i64) -> u64 {
        match self {
            Field::Ring(w) => (v as u64) & ring_mask(w),
            Field::Modp(p) => {
                debug_assert!(v.unsigned_abs() < u64::from(p));
                if v < 0 {
                    u64::from(p) - v.unsigned_abs()
                } else {
                    v as u64
                }
            }
        }
    }
}

/// The low `w` bits, `1 <= w <= 64`.
#[inline]
fn ring_mask(w: u32) -> u64 {
    u64::MAX >> (64 - w)
}

/// `count` COTs whose correlations all have the given fields.
#[derive(Debug, Clone)]
pub struct Group {
    count: usize,
    fields: Vec<Field>,
    /// Each field's correction bits.
    bits: Vec<u32>,
    /// Each field's mask when all fields are rings (of any widths): the fast path, plain
    /// wrapping arithmetic and one mask per field.
    ring_masks: Option<Vec<u64>>,
}

impl Group {
    /// `count` COTs with correlations of these fields (at least one).
    pub fn new(count: usize, fields: Vec<Field>) -> Group {
        assert!(!fields.is_empty(), "a COT correlates at least one field");
        let ring_masks = fields
            .iter()
            .map(|f| match *f {
                Field::Ring(w) => Some(ring_mask(w)),
                Field::Modp(_) => None,
            })
            .collect();
        Group {
            count,
            bits: fields.iter().map(|f| f.bits()).collect(),
            fields,
            ring_masks,
        }
    }

    /// How many COTs.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The fields of each correlation.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Correction bits per COT.
    fn field_bits(&self) -> usize {
        self.bits.iter().map(|&b| b as usize).sum()
    }
}

/// Expands OT keys into field values, `group.fields.len()` per key, one key after another.
/// A COT of at most two fields takes the key's two 64-bit halves as they are: CryProt's random
/// OT outputs are already correlation-robust hashes of the IKNP rows (`H(q_i)`,
/// `H(q_i XOR Delta)`), uniform and independent, so hashing them again bought nothing (it was
/// three AES calls per COT of a mask bit). Wider COTs stretch the key:
/// `MMO(k XOR q) = pi(k XOR q) XOR k XOR q` for `q = 0, 1, 2, ...` with the fixed-key AES
/// permutation `pi`, two 64-bit values per 128-bit output; the key is a secret random OT output
/// and `q` a public counter, which is exactly what correlation robustness covers. Many keys are
/// hashed in one call so that AES-NI runs pipelined.
fn expand(
    keys: impl Iterator<Item = Block>,
    group: &Group,
    scratch: &mut Vec<Block>,
    out: &mut Vec<u64>,
) {
    let f = group.fields.len();
    let blocks = f.div_ceil(2);
    scratch.clear();
    if blocks == 1 {
        scratch.extend(keys);
    } else {
        for key in keys {
            scratch.extend((0..blocks).map(|q| key ^ Block::from(q as u128)));
        }
        FIXED_KEY_HASH.cr_hash_slice_mut(scratch);
    }
    let words: &[u64] = bytemuck::cast_slice(scratch);
    out.clear();
    for per_key in words.chunks_exact(2 * blocks) {
        match &group.ring_masks {
            Some(masks) => out.extend(per_key[..f].iter().zip(masks).map(|(w, mask)| w & mask)),
            _ => out.extend(
                per_key[..f]
                    .iter()
                    .zip(&group.fields)
                    .map(|(w, field)| field.uniform(*w)),
            ),
        }
    }
}

/// COTs whose keys are expanded together (a few hundred KB of scratch for the widest groups).
const EXPAND_CHUNK: usize = 1024;

/// OTs per extension call, at most. CryProt allocates a call's matrices and outputs afresh
/// (32 bytes of keys per OT at the sender alone): a batch of 65,536 truncation pairs (the
/// kind before truncation took daBits) in one call (two million OTs each way) took some
/// 100 MB of new pages per call, which the kernel faulted in and zeroed — a third of the
/// pairs' CPU time (`clear_page` alone a fifth, perf).
/// Calls of this size reuse the allocator's memory; each is one more flight of corrections,
/// about 20 µs.
const OT_CALL: usize = 1 << 17;

/// A run of COTs of one group: `count` of them from COT `first` on.
#[derive(Debug, Clone, Copy)]
struct Piece {
    group: usize,
    first: usize,
    count: usize,
}

/// The COTs of `groups` in order, cut into pieces of at most [`EXPAND_CHUNK`] and gathered
/// into extension calls of at most [`OT_CALL`] OTs. Both parties cut alike.
fn calls(groups: &[Group]) -> Vec<Vec<Piece>> {
    let mut calls: Vec<Vec<Piece>> = Vec::new();
    let mut size = OT_CALL;
    for (g, group) in groups.iter().enumerate() {
        for first in (0..group.count).step_by(EXPAND_CHUNK) {
            let count = EXPAND_CHUNK.min(group.count - first);
            if size + count > OT_CALL {
                calls.push(Vec::new());
                size = 0;
            }
            size += count;
            calls.last_mut().expect("pushed above").push(Piece {
                group: g,
                first,
                count,
            });
        }
    }
    calls
}

/// Each piece of a call with its group and the offset of its first OT in the call.
fn placed<'a>(
    groups: &'a [Group],
    call: &'a [Piece],
) -> impl Iterator<Item = (Piece, &'a Group, usize)> + 'a {
    call.iter().scan(0, |at, &piece| {
        let first = *at;
        *at += piece.count;
        Some((piece, &groups[piece.group], first))
    })
}

/// The OTs of one call: IKNP works in multiples of 128 (the spare ones are never used).
fn ot_count(call: &[Piece]) -> usize {
    call.iter()
        .map(|p| p.count)
        .sum::<usize>()
        .next_multiple_of(128)
}

/// The bits of one call's correction message.
fn correction_bits(groups: &[Group], call: &[Piece]) -> usize {
    call.iter()
        .map(|p| p.count * groups[p.group].field_bits())
        .sum()
}

/// An OT failure with its whole chain of causes (CryProt's top-level messages are generic).
fn ot_error(e: impl std::error::Error) -> OfflineError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    OfflineError::Ot(message)
}

/// Threads in rayon's global pool. CryProt's OT extension runs each batch as a job there that
/// blocks until the async side feeds it network data; a pool no larger than the number of
/// cores (rayon's default: 2 here) deadlocks as soon as more OT batches wait at once than it
/// has threads (both directions of a pair, several pairs, or both parties in one test
/// process). The jobs mostly wait, so a generous pool costs little.
const COMPUTE_THREADS: usize = 32;

/// Sizes rayon's global pool before the first OT runs (later calls change nothing).
pub(crate) fn ensure_compute_threads() {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(
            COMPUTE_THREADS.max(std::thread::available_parallelism().map_or(1, usize::from)),
        )
        .thread_name(|i| format!("ot-compute-{i}"))
        .build_global();
}

/// The sending side of a COT channel between the two parties.
pub struct CotSender {
    ot: SemiHonestOtExtensionSender,
    corrections: Channel,
}

/// The receiving side, paired with the peer's [`CotSender`].
pub struct CotReceiver {
    ot: SemiHonestOtExtensionReceiver,
    corrections: Channel,
}

impl CotSender {
    /// Sets up over `link`; the peer must call [`CotReceiver::new`] at the same point.
    pub async fn new(link: &mut PartyLink) -> Result<CotSender, OfflineError> {
        ensure_compute_threads();
        let ot = SemiHonestOtExtensionSender::new(link.sub_connection());
        let corrections = link.channel().await?;
        Ok(CotSender { ot, corrections })
    }

    /// Runs the COTs of `groups`: `delta(g, i, out)` writes the correlation of COT `i` of
    /// group `g` (elements of its fields: below `p`, below `2^w`); `share(g, i, s)` receives
    /// this party's share (`-s`) of `b·delta`.
    pub async fn send(
        &mut self,
        groups: &[Group],
        mut delta: impl FnMut(usize, usize, &mut [u64]),
        mut share: impl FnMut(usize, usize, &[u64]),
    ) -> Result<(), OfflineError> {
        let widest = groups.iter().map(|g| g.fields.len()).max().unwrap_or(0);
        let (mut d, mut out) = (vec![0; widest], vec![0; widest]);
        let (mut s0, mut s1, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        for call in calls(groups) {
            let keys = self.ot.send(ot_count(&call)).await.map_err(ot_error)?;
            let mut writer = BitWriter::with_capacity(correction_bits(groups, &call));
            for (piece, group, at) in placed(groups, &call) {
                let (g, first, count) = (piece.group, piece.first, piece.count);
                let f = group.fields.len();
                let chunk = &keys[at..at + count];
                expand(chunk.iter().map(|k| k[0]), group, &mut scratch, &mut s0);
                expand(chunk.iter().map(|k| k[1]), group, &mut scratch, &mut s1);
                for (c, (s0, s1)) in s0.chunks_exact(f).zip(s1.chunks_exact(f)).enumerate() {
                    let i = first + c;
                    delta(g, i, &mut d[..f]);
                    match &group.ring_masks {
                        Some(masks) => {
                            for (q, &mask) in masks.iter().enumerate() {
                                let correction =
                                    s0[q].wrapping_sub(s1[q]).wrapping_add(d[q]) & mask;
                                writer.push(correction, group.bits[q]);
                                out[q] = s0[q].wrapping_neg() & mask;
                            }
                        }
                        _ => {
                            for (q, field) in group.fields.iter().enumerate() {
                                debug_assert!(field.add(d[q], 0) == d[q], "delta in the field");
                                let correction =
                                    field.add(field.add(s0[q], field.neg(s1[q])), d[q]);
                                writer.push(correction, group.bits[q]);
                                out[q] = field.neg(s0[q]);
                            }
                        }
                    }
                    share(g, i, &out[..f]);
                }
            }
            self.corrections.send(&writer.into_bytes()).await?;
        }
        Ok(())
    }

    /// `count` random OTs, no correction sent: this party gets both keys of each (CryProt's
    /// outputs, already correlation-robust hashes), the receiver the one it chose. For
    /// correlations the keys themselves may fix, as AND triples' (see `generate::comparison_bits`).
    /// `each(k, keys)` sees OT `k`'s keys as its extension call delivers them (a batch's keys
    /// all at once would be tens of MB of fresh pages).
    pub async fn random_send(
        &mut self,
        count: usize,
        mut each: impl FnMut(usize, &[Block; 2]),
    ) -> Result<(), OfflineError> {
        for first in (0..count).step_by(OT_CALL) {
            let k = OT_CALL.min(count - first);
            let keys = self
                .ot
                .send(k.next_multiple_of(128))
                .await
                .map_err(ot_error)?;
            for (i, key) in keys[..k].iter().enumerate() {
                each(first + i, key);
            }
        }
        Ok(())
    }

    /// `count` XOR-correlated OTs with the same 128-bit correlation: this party gets random
    /// `x_i`, the receiver `x_i XOR b_i·delta` (garbled-circuit input labels).
    pub async fn xor_send(
        &mut self,
        count: usize,
        delta: Block,
    ) -> Result<Vec<Block>, OfflineError> {
        let mut labels = cryprot_ot::CotSender::correlated_send(
            &mut self.ot,
            count.next_multiple_of(128),
            |_| delta,
        )
        .await
        .map_err(ot_error)?;
        labels.truncate(count);
        Ok(labels)
    }

    /// The channel to the peer's [`CotReceiver`], for protocol messages in this direction.
    pub(crate) fn channel(&mut self) -> &mut Channel {
        &mut self.corrections
    }
}

impl CotReceiver {
    /// Sets up over `link`; the peer must call [`CotSender::new`] at the same point.
    pub async fn new(link: &mut PartyLink) -> Result<CotReceiver, OfflineError> {
        ensure_compute_threads();
        let ot = SemiHonestOtExtensionReceiver::new(link.sub_connection());
        let corrections = link.channel().await?;
        Ok(CotReceiver { ot, corrections })
    }

    /// Runs the COTs of `groups` with the choice bits `choice(g, i)`; `share(g, i, s)` receives
    /// this party's share (`s + b·delta`).
    pub async fn receive(
        &mut self,
        groups: &[Group],
        mut choice: impl FnMut(usize, usize) -> bool,
        mut share: impl FnMut(usize, usize, &[u64]),
    ) -> Result<(), OfflineError> {
        let (mut s, mut scratch) = (Vec::new(), Vec::new());
        for call in calls(groups) {
            let mut choices = Vec::with_capacity(ot_count(&call));
            for piece in &call {
                let range = piece.first..piece.first + piece.count;
                choices.extend(range.map(|i| Choice::from(u8::from(choice(piece.group, i)))));
            }
            // IKNP works in multiples of 128 OTs; the spare ones are never used.
            choices.resize(ot_count(&call), Choice::from(0));
            let keys = self.ot.receive(&choices).await.map_err(ot_error)?;
            let bytes = self.corrections.recv().await?;
            let expected = correction_bits(groups, &call);
            if bytes.len() != expected.div_ceil(8) {
                return Err(OfflineError::Peer(format!(
                    "{} bytes of OT corrections, expected {}",
                    bytes.len(),
                    expected.div_ceil(8)
                )));
            }
            let mut reader = BitReader::new(&bytes);
            for (piece, group, at) in placed(groups, &call) {
                let (g, first, count) = (piece.group, piece.first, piece.count);
                let f = group.fields.len();
                expand(
                    keys[at..at + count].iter().copied(),
                    group,
                    &mut scratch,
                    &mut s,
                );
                for (c, s) in s.chunks_exact_mut(f).enumerate() {
                    let chosen = bool::from(choices[at + c]);
                    match &group.ring_masks {
                        Some(masks) => {
                            for ((v, &mask), &w) in s.iter_mut().zip(masks).zip(&group.bits) {
                                let correction = reader.pop(w).expect("length checked above");
                                if chosen {
                                    *v = v.wrapping_add(correction) & mask;
                                }
                            }
                        }
                        _ => {
                            for (q, field) in group.fields.iter().enumerate() {
                                let correction =
                                    reader.pop(group.bits[q]).expect("length checked above");
                                if chosen {
                                    s[q] = field.add(s[q], correction);
                                }
                            }
                        }
                    }
                    share(g, first + c, s);
                }
            }
        }
        Ok(())
    }

    /// The receiving side of [`CotSender::random_send`]: `each(k, key)` sees the key of
    /// OT `k`'s choice.
    pub async fn random_receive(
        &mut self,
        choices: &[bool],
        mut each: impl FnMut(usize, Block),
    ) -> Result<(), OfflineError> {
        for (c, call) in choices.chunks(OT_CALL).enumerate() {
            let mut padded: Vec<Choice> = call.iter().map(|&b| Choice::from(u8::from(b))).collect();
            padded.resize(call.len().next_multiple_of(128), Choice::from(0));
            let keys = self.ot.receive(&padded).await.map_err(ot_error)?;
            for (i, &key) in keys[..call.len()].iter().enumerate() {
                each(c * OT_CALL + i, key);
            }
        }
        Ok(())
    }

    /// The receiving side of [`CotSender::xor_send`]: `x_i XOR b_i·delta` for the choices `b`.
    pub async fn xor_receive(&mut self, choices: &[bool]) -> Result<Vec<Block>, OfflineError> {
        let mut padded: Vec<Choice> = choices.iter().map(|&b| Choice::from(u8::from(b))).collect();
        padded.resize(choices.len().next_multiple_of(128), Choice::from(0));
        let mut labels = cryprot_ot::CotReceiver::correlated_receive(&mut self.ot, &padded)
            .await
            .map_err(ot_error)?;
        labels.truncate(choices.len());
        Ok(labels)
    }

    /// The channel from the peer's [`CotSender`].
    pub(crate) fn channel(&mut self) -> &mut Channel {
        &mut self.corrections
    }
}

/// Both directions of COT for one party: it sends in one and receives in the other, so two
/// cross terms can run at once and use the link both ways.
pub struct Cots {
    /// This party as COT sender.
    pub sender: CotSender,
    /// This party as COT receiver.
    pub receiver: CotReceiver,
}

impl Cots {
    /// Sets up both directions: P0's sender pairs with P1's receiver and vice versa.
    pub async fn new(link: &mut PartyLink) -> Result<Cots, OfflineError> {
        use dyad_link::PartyId;
        match link.party() {
            PartyId::P0 => {
                let sender = CotSender::new(link).await?;
                let receiver = CotReceiver::new(link).await?;
                Ok(Cots { sender, receiver })
            }
            PartyId::P1 => {
                let receiver = CotReceiver::new(link).await?;
                let sender = CotSender::new(link).await?;
                Ok(Cots { sender, receiver })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field arithmetic against `u128` remainders, at the edges of every field kind.
    #[test]
    fn field_arithmetic_matches_remainders_at_the_edges() {
        for field in [
            Field::Ring(1),
            Field::Ring(37),
            Field::Ring(63),
            Field::Ring(64),
            Field::Modp(67),
            Field::Modp(40961),
        ] {
            let m: u128 = match field {
                Field::Ring(w) => 1 << w,
                Field::Modp(p) => u128::from(p),
            };
            let top = (m - 1) as u64;
            let elements = [0, 1, top / 2, top - 1, top];
            for &a in &elements {
                for &b in &elements {
                    let sum = (u128::from(a) + u128::from(b)) % m;
                    assert_eq!(u128::from(field.add(a, b)), sum, "{field:?}: {a} + {b}");
                }
                assert_eq!(
                    u128::from(field.neg(a)),
                    (m - u128::from(a)) % m,
                    "{field:?}: -{a}"
                );
            }
            for v in [-1i64, 0, 1] {
                let want = (i128::from(v).rem_euclid(m as i128)) as u128;
                assert_eq!(u128::from(field.small(v)), want, "{field:?}: {v}");
            }
            // A key word maps into the field, and the extremes to its extremes.
            for v in [0, 1, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
                assert!(u128::from(field.uniform(v)) < m, "{field:?}: {v}");
            }
            assert_eq!(field.uniform(0), 0);
            assert_eq!(field.uniform(u64::MAX), top);
        }
    }

    #[test]
    fn calls_cover_every_cot_once_in_order_and_stay_bounded() {
        for counts in [
            vec![1],
            vec![OT_CALL],
            vec![OT_CALL + 1, 5, 3 * OT_CALL / 2],
            vec![700; 500],
        ] {
            let groups: Vec<Group> = counts
                .iter()
                .map(|&n| Group::new(n, vec![Field::Ring(64)]))
                .collect();
            let mut next = vec![0usize; groups.len()];
            let mut last_group = 0;
            for call in calls(&groups) {
                assert!(!call.is_empty());
                assert!(call.iter().map(|p| p.count).sum::<usize>() <= OT_CALL);
                assert_eq!(ot_count(&call) % 128, 0);
                for piece in call {
                    assert!(piece.count > 0 && piece.count <= EXPAND_CHUNK);
                    assert!(piece.group >= last_group, "groups in order");
                    assert_eq!(
                        piece.first, next[piece.group],
                        "COTs in order, none skipped"
                    );
                    next[piece.group] += piece.count;
                    last_group = piece.group;
                }
            }
            assert_eq!(next, counts, "every COT once");
        }
        assert!(calls(&[]).is_empty());
    }
}
