//! Hostile bytes for the parsers of outside input (issue 13): model and dataset share files,
//! checkpoints, ONNX files, stockpile records, peer messages, request fields. Every parser must
//! answer any bytes with a value or an error, never a panic, a hang or an allocation the input
//! did not pay for.
//!
//! [`bounded`] runs in the ordinary test suite: it mutates well-formed seeds (bit flips, byte
//! changes, interesting integers, insertions, deletions, truncations, splices) with a fixed
//! seed, so a run is repeatable and a failure names the input that caused it, ready to become
//! a regression test. It is not coverage-guided; the libFuzzer targets under `fuzz/libfuzzer`
//! (cargo-fuzz) run the same parsers for long, coverage-guided runs.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Mutated inputs per target in the test suite: enough to reach every length field and
/// header of the seeds many times over, in well under a second per parser.
pub const TEST_ITERATIONS: usize = 20_000;

/// Integers that break length and range checks.
const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    1 << 32,
    i64::MAX as u64,
    u64::MAX,
];

/// One mutation of `input`, drawing on `seeds` for splices.
pub fn mutate(input: &[u8], seeds: &[Vec<u8>], rng: &mut impl Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = rng.random();
            }
            2 if len > 0 => {
                // An interesting integer over 1, 2, 4 or 8 bytes at a random place.
                let width = [1, 2, 4, 8][rng.random_range(0..4)].min(len);
                let at = rng.random_range(0..=len - width);
                let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
                out[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            }
            3 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                out.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - at).min(16));
                out.drain(at..at + n);
            }
            5 => out.truncate(rng.random_range(0..=len)),
            6 if !seeds.is_empty() => {
                // Head of this input, tail of a seed.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let at = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ if len > 1 => {
                // Repeat a chunk: runs of records, repeated fields.
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - at).min(64));
                let chunk = out[at..at + n].to_vec();
                out.splice(at..at, chunk);
            }
            _ => out.push(rng.random()),
        }
    }
    out
}

/// Runs `target` on the seeds and on `iterations` mutations of them (each mutation builds on
/// a seed or on an earlier mutation), with a fixed seed. Panics naming the target and the
/// input, in hex, if `target` panics. `DYAD_FUZZ_SCALE=N` multiplies the iterations and
/// `DYAD_FUZZ_SEED` changes the seed, for longer runs than the test suite's
/// (`DYAD_FUZZ_SCALE=100 cargo test any_bytes -- --nocapture` prints each target's count).
pub fn bounded(name: &str, seeds: &[Vec<u8>], iterations: usize, target: impl Fn(&[u8])) {
    let env = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok());
    let scale = env("DYAD_FUZZ_SCALE").unwrap_or(1).max(1) as usize;
    let iterations = iterations.saturating_mul(scale);
    let started = std::time::Instant::now();
    let mut rng = ChaCha20Rng::seed_from_u64(env("DYAD_FUZZ_SEED").unwrap_or(0x6479_6164));
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let check = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
            panic!("{name} panicked on {} bytes: {hex}", input.len());
        }
    };
    for seed in seeds {
        check(seed);
    }
    for i in 0..iterations {
        let base = &pool[rng.random_range(0..pool.len())];
        let input = mutate(base, seeds, &mut rng);
        check(&input);
        // Keep some mutations as bases, so mutations compound.
        if i % 16 == 0 && pool.len() < 256 {
            pool.push(input);
        }
    }
    if scale > 1 {
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: {iterations} inputs in {seconds:.1} s ({:.0}/s), no panic",
            iterations as f64 / seconds.max(1e-9)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_vary_and_a_panicking_target_is_reported_with_its_input() {
        let seeds = vec![b"DYADMSH1 header and body".to_vec()];
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let distinct: std::collections::BTreeSet<Vec<u8>> = (0..200)
            .map(|_| mutate(&seeds[0], &seeds, &mut rng))
            .collect();
        assert!(distinct.len() > 150, "{}", distinct.len());

        let caught = catch_unwind(|| {
            bounded("fragile", &seeds, 10_000, |b| {
                assert!(b.len() != 3, "three")
            })
        });
        let message = caught.expect_err("found");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("fragile panicked on 3 bytes"), "{text}");
    }
}
