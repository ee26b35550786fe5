//! Ring matmul (wrapping u64) against ndarray's f64 `dot` on the same shapes, same run.
//!
//! `cargo bench -p dyad-online --bench matmul`

use std::hint::black_box;
use std::time::{Duration, Instant};

use dyad_online::{Z64, ring};
use ndarray::Array2;

/// Median seconds per call over enough calls to fill about a second.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < Duration::from_millis(300) {
        f();
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls as f64;
    let reps = ((1.0 / per_call) as usize).clamp(5, 2000);
    let mut samples: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    println!(
        "{:<16} {:>14} {:>14} {:>8}",
        "shape", "ring GMAC/s", "f64 GMAC/s", "ratio"
    );
    for (m, n, k) in [(128, 784, 128), (128, 128, 128), (784, 128, 128)] {
        let a = Array2::from_shape_fn((m, n), |(i, j)| Z64((i * 31 + j * 17) as u64 * 0x9e37_79b9));
        let b = Array2::from_shape_fn((n, k), |(i, j)| Z64((i * 7 + j * 13) as u64 * 0x85eb_ca6b));
        let af = a.mapv(|v| (v.0 % 1000) as f64);
        let bf = b.mapv(|v| (v.0 % 1000) as f64);
        let macs = (m * n * k) as f64;
        let ring_s = time(|| {
            black_box(ring::matmul(black_box(&a), black_box(&b)));
        });
        let float_s = time(|| {
            black_box(black_box(&af).dot(black_box(&bf)));
        });
        println!(
            "{:<16} {:>14.2} {:>14.2} {:>8.2}",
            format!("{m}x{n}x{k}"),
            macs / ring_s / 1e9,
            macs / float_s / 1e9,
            float_s / ring_s
        );
    }
}
