//! Shares of products where one party holds each factor: the Gilboa / SecureML method.
//!
//! For a receiver value `y` and a sender vector `x`, `y·x = sum_t 2^t·y_t·x`: one COT per bit
//! `y_t` of `y` with correlation `x`. In `Z_{2^64}` the COT for bit `t` only needs `x` modulo
//! `2^(64-t)`, because its result is multiplied by `2^t`: corrections for bit `t` carry
//! `64 - t` bits per element (2,080 bits per element over the 64 bits of `y`). In `Z_p`, `y`
//! has `ceil(log2 p)` bits and the correlation for bit `t` is `2^t·x`.

use crate::OfflineError;
use crate::cot::{CotReceiver, CotSender, Field, Group};

/// Entries per OT batch, keeping one correction message near `TARGET_BYTES`.
fn chunk_entries(bits_per_entry: usize) -> usize {
    const TARGET_BYTES: usize = 32 << 20;
    (TARGET_BYTES * 8 / bits_per_entry.max(1)).clamp(1, 1 << 14)
}

/// Ring entries: 64 groups, one per bit `t` of `y`, each element in `Z_{2^(64-t)}`.
fn ring_groups(count: usize, m: usize) -> Vec<Group> {
    (0..64)
        .map(|t| Group::new(count, vec![Field::Ring(64 - t); m]))
        .collect()
}

/// `Z_p` entries: one group per bit of `y`.
fn modp_groups(p: u32, count: usize, m: usize) -> Vec<Group> {
    let field = Field::Modp(p);
    (0..field_bits(p))
        .map(|_| Group::new(count, vec![field; m]))
        .collect()
}

/// Bits of an element of `Z_p`.
fn field_bits(p: u32) -> u32 {
    32 - (p - 1).leading_zeros()
}

/// Sender side in `Z_{2^64}`: for each of `entries` entries the vector `x(e)` (length `m`);
/// `out(e, share)` receives this party's share of `y(e)·x(e)`.
pub async fn ring_send(
    cot: &mut CotSender,
    entries: usize,
    m: usize,
    mut x: impl FnMut(usize, &mut [u64]),
    mut out: impl FnMut(usize, &[u64]),
) -> Result<(), OfflineError> {
    let chunk = chunk_entries(m * 2080);
    for start in (0..entries).step_by(chunk) {
        let count = chunk.min(entries - start);
        let mut columns = vec![0u64; count * m];
        for (i, column) in columns.chunks_exact_mut(m).enumerate() {
            x(start + i, column);
        }
        let mut acc = vec![0u64; count * m];
        cot.send(
            &ring_groups(count, m),
            |_, i, d| d.copy_from_slice(&columns[i * m..(i + 1) * m]),
            |t, i, s| accumulate_shifted(&mut acc[i * m..(i + 1) * m], s, t as u32),
        )
        .await?;
        for (i, share) in acc.chunks_exact(m).enumerate() {
            out(start + i, share);
        }
    }
    Ok(())
}

/// Receiver side in `Z_{2^64}`: for each entry the value `y(e)`; `out(e, share)` receives this
/// party's share of `y(e)·x(e)`.
pub async fn ring_receive(
    cot: &mut CotReceiver,
    entries: usize,
    m: usize,
    y: impl Fn(usize) -> u64,
    mut out: impl FnMut(usize, &[u64]),
) -> Result<(), OfflineError> {
    let chunk = chunk_entries(m * 2080);
    for start in (0..entries).step_by(chunk) {
        let count = chunk.min(entries - start);
        let values: Vec<u64> = (start..start + count).map(&y).collect();
        let mut acc = vec![0u64; count * m];
        cot.receive(
            &ring_groups(count, m),
            |t, i| (values[i] >> t) & 1 == 1,
            |t, i, s| accumulate_shifted(&mut acc[i * m..(i + 1) * m], s, t as u32),
        )
        .await?;
        for (i, share) in acc.chunks_exact(m).enumerate() {
            out(start + i, share);
        }
    }
    Ok(())
}

#[inline]
fn accumulate_shifted(acc: &mut [u64], share: &[u64], t: u32) {
    for (a, s) in acc.iter_mut().zip(share) {
        *a = a.wrapping_add(s << t);
    }
}

/// Sender side in `Z_p`: for each entry the vector `x(e)` (values below `p`);
/// `out(e, share)` receives this party's share of `y(e)·x(e)`.
pub async fn modp_send(
    cot: &mut CotSender,
    p: u32,
    entries: usize,
    m: usize,
    mut x: impl FnMut(usize, &mut [u64]),
    mut out: impl FnMut(usize, &[u64]),
) -> Result<(), OfflineError> {
    let bits = field_bits(p) as usize;
    let chunk = chunk_entries(m * bits * bits);
    for start in (0..entries).step_by(chunk) {
        let count = chunk.min(entries - start);
        let mut columns = vec![0u64; count * m];
        for (i, column) in columns.chunks_exact_mut(m).enumerate() {
            x(start + i, column);
        }
        let mut acc = vec![0u64; count * m];
        cot.send(
            &modp_groups(p, count, m),
            |t, i, d| {
                for (d, x) in d.iter_mut().zip(&columns[i * m..(i + 1) * m]) {
                    *d = (x << t) % u64::from(p);
                }
            },
            |_, i, s| accumulate_modp(p, &mut acc[i * m..(i + 1) * m], s),
        )
        .await?;
        for (i, share) in acc.chunks_exact(m).enumerate() {
            out(start + i, share);
        }
    }
    Ok(())
}

/// Receiver side in `Z_p`: for each entry the value `y(e)` (below `p`).
pub async fn modp_receive(
    cot: &mut CotReceiver,
    p: u32,
    entries: usize,
    m: usize,
    y: impl Fn(usize) -> u64,
    mut out: impl FnMut(usize, &[u64]),
) -> Result<(), OfflineError> {
    let bits = field_bits(p) as usize;
    let chunk = chunk_entries(m * bits * bits);
    for start in (0..entries).step_by(chunk) {
        let count = chunk.min(entries - start);
        let values: Vec<u64> = (start..start + count).map(&y).collect();
        let mut acc = vec![0u64; count * m];
        cot.receive(
            &modp_groups(p, count, m),
            |t, i| (values[i] >> t) & 1 == 1,
            |_, i, s| accumulate_modp(p, &mut acc[i * m..(i + 1) * m], s),
        )
        .await?;
        for (i, share) in acc.chunks_exact(m).enumerate() {
            out(start + i, share);
        }
    }
    Ok(())
}

#[inline]
fn accumulate_modp(p: u32, acc: &mut [u64], share: &[u64]) {
    for (a, s) in acc.iter_mut().zip(share) {
        *a = (*a + s) % u64::from(p);
    }
}
