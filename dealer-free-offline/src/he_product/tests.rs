//! Cross terms by RLWE against the plaintext product: the encoding, the shapes the cost
//! model picks, exact shares on worst-case inputs over a real loopback link, the noise bound,
//! and the evaluator's privacy.

use dyad_link::{PartyLink, loopback_pair};
use dyad_testing::stats;
use ndarray::{Array2, s};
use num_bigint::{BigInt, Sign};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::shape::{BlockShape, Dims};
use super::*;
use crate::rlwe::accumulator::Accumulator;
use crate::rlwe::ciphertext::Ciphertext;
use crate::rlwe::reply::finish;
use crate::rlwe::rns::RnsPoly;
use crate::rlwe::setting::Setting;
use crate::rlwe::{encrypt, sample};

/// The matrix products' setting.
const M: Setting = Setting::MATRIX;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// `a·b` over `Z_{2^64}`.
fn product(a: &Array2<u64>, b: &Array2<u64>) -> Array2<u64> {
    let mut out = Array2::<u64>::zeros((a.nrows(), b.ncols()));
    for ((i, j), o) in out.indexed_iter_mut() {
        *o = (0..a.ncols()).fold(0u64, |acc, l| {
            acc.wrapping_add(a[[i, l]].wrapping_mul(b[[l, j]]))
        });
    }
    out
}

fn macs(dims: Dims) -> u64 {
    (dims.rows * dims.inner * dims.cols) as u64
}

/// The cost model's shape for `dims` in this orientation.
fn choose(dims: Dims) -> Option<BlockShape> {
    shape::pick(BlockShape::candidates(dims))
}

fn random(rng: &mut ChaCha20Rng, rows: usize, cols: usize) -> Array2<u64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random())
}

#[test]
fn the_encoding_puts_every_block_product_at_its_result_coefficients() {
    let mut rng = rng(1);
    for (d0, d1, d2, h, w, c) in [
        (4, 8, 16, 4, 8, 16),
        (4, 8, 16, 3, 5, 7),
        (1, 8192, 1, 1, 8192, 1),
        (128, 32, 2, 128, 32, 2),
        (2, 1, 4096, 2, 1, 4096),
        // Strides that are not powers of two: 1600 and 640 round up past the rows' room.
        (5, 40, 40, 5, 40, 40),
        (12, 64, 10, 11, 63, 9),
    ] {
        let shape = BlockShape {
            d0,
            d1,
            d2,
            group: 1,
            chunk: 1,
            part: 1,
        };
        let (a, b) = (random(&mut rng, h, w), random(&mut rng, w, c));
        let (pa, pb) = (
            encoding::lhs(&shape, a.view()),
            encoding::rhs(&shape, b.view()),
        );
        // The negacyclic product over Z_2^64, schoolbook over the non-zero coefficients.
        let mut poly = vec![0u64; N];
        for &(i, x) in &pa {
            for &(j, y) in &pb {
                let (at, p) = ((i + j) % N, x.wrapping_mul(y));
                poly[at] = if i + j < N {
                    poly[at].wrapping_add(p)
                } else {
                    poly[at].wrapping_sub(p)
                };
            }
        }
        let want = product(&a, &b);
        for ((r, col), &v) in want.indexed_iter() {
            assert_eq!(
                poly[encoding::result(&shape, r, col)],
                v,
                "{d0}x{d1}x{d2} at ({r}, {col})"
            );
        }
    }
}

/// The rule weighs CPU microseconds against the time bits take on the link: more traffic
/// wins when it saves more CPU than its link time, and loses when it does not.
#[test]
fn the_cost_model_weighs_cpu_against_link_time() {
    let link = |bits: u64| bits as f64 / shape::LINK_BITS_PER_MICRO;
    let lean = ("lean", 1_000_000, 5_000.0);
    let busy = ("busy", 3_000_000, 5_000.0 - link(2_000_000) - 1.0);
    assert_eq!(shape::pick(vec![lean, busy]), Some("busy"));
    let busy = ("busy", 3_000_000, 5_000.0 - link(2_000_000) + 1.0);
    assert_eq!(shape::pick(vec![lean, busy]), Some("lean"));
    assert_eq!(shape::pick(Vec::<((), u64, f64)>::new()), None);
}

/// Network-C's tall im2col products (batch 128): its second convolution's forward, weight
/// gradient and input gradient, and its first's forward and weight gradient.
const NETWORK_C_TALL: [(usize, usize, usize); 5] = [
    (8192, 500, 50),
    (500, 8192, 50),
    (8192, 50, 500),
    (73_728, 25, 20),
    (25, 73_728, 20),
];

#[test]
fn chosen_shapes_fit_the_ring_and_the_noise_budget() {
    for (m, n, k) in [
        (128, 784, 128),
        (784, 128, 128),
        (128, 128, 10),
        (128, 128, 128),
        (128, 10, 128),
        (16, 784, 128),
        (64, 784, 128),
        (1, 784, 128),
        (1, 1, 1),
        (25, 73_728, 16),
        (73_728, 25, 16),
        (128, 10, 500),
        (128, 500, 800),
        (128, 800, 500),
        (800, 128, 500),
        (500, 128, 10),
    ]
    .into_iter()
    .chain(NETWORK_C_TALL)
    {
        let plan = ProductPlan::for_triple(m, n, k).expect("a shape");
        let (shape, dims) = (plan.shape, plan.dims);
        assert!(
            shape.d0 * shape.d1 * shape.d2 <= N,
            "{m}x{n}x{k}: {shape:?}"
        );
        assert!(shape.d0 <= dims.rows && shape.d1 <= dims.inner && shape.d2 <= dims.cols);
        assert!(
            noise::flood_bits(shape.group, shape.d1, shape.d2) <= M.max_flood_bits(),
            "{m}x{n}x{k}: {shape:?}"
        );
        let bits = 2.0 * shape.traffic_bits(dims) as f64 / macs(dims) as f64;
        eprintln!("{m}x{n}x{k}: {plan:?}: {bits:.1} bit/MAC both directions");
    }
    // Network-C's tall im2col products: plaintexts of a power-of-two stride (a transform of
    // `N/s` values), not the stride-1 shapes that least traffic chose (3.5x their CPU).
    for (m, n, k) in NETWORK_C_TALL {
        let plan = ProductPlan::for_triple(m, n, k).expect("a shape");
        assert!(
            encoding::transform_stride(&plan.shape) > 1,
            "{m}x{n}x{k}: {plan:?}"
        );
    }
    // The Network-A training shape: both cross terms within the 20 bits per MAC.
    let plan = ProductPlan::for_triple(128, 784, 128).expect("a shape");
    assert!(2 * plan.shape.traffic_bits(plan.dims) < 20 * macs(plan.dims));
    // An inner dimension beyond one reply's noise budget is split across replies.
    let wide = choose(Dims {
        rows: 4,
        inner: 1 << 20,
        cols: 4,
    })
    .expect("a shape");
    assert!(
        wide.groups(Dims {
            rows: 4,
            inner: 1 << 20,
            cols: 4
        }) > 1,
        "{wide:?}"
    );
}

async fn sessions() -> ([HeSession; 2], [PartyLink; 2]) {
    let (mut l0, mut l1) = loopback_pair().await.expect("link");
    let (s0, s1) =
        tokio::try_join!(HeSession::new(&mut l0), HeSession::new(&mut l1)).expect("sessions");
    ([s0, s1], [l0, l1])
}

/// Runs both cross terms with these factors and checks that the shares add up exactly.
async fn check_cross_terms(
    sessions: &mut [HeSession; 2],
    shape: BlockShape,
    dims: Dims,
    a: [Array2<u64>; 2],
    b: [Array2<u64>; 2],
    what: &str,
) {
    let want = [product(&a[0], &b[1]), product(&a[1], &b[0])];
    let [s0, s1] = sessions;
    let [a0, a1] = a;
    let [b0, b1] = b;
    let (r0, r1) = tokio::join!(
        s0.cross_terms(shape, dims, a0, b0),
        s1.cross_terms(shape, dims, a1, b1)
    );
    let ((e0, v0), (e1, v1)) = (r0.expect("P0"), r1.expect("P1"));
    let sum = |x: &Array2<u64>, y: &Array2<u64>| {
        Array2::from_shape_fn(x.dim(), |ij| x[ij].wrapping_add(y[ij]))
    };
    assert_eq!(sum(&e0, &v1), want[0], "{what}: a_0·b_1");
    assert_eq!(sum(&e1, &v0), want[1], "{what}: a_1·b_0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_terms_are_exact_on_worst_case_and_random_inputs() {
    let (mut sessions, _links) = sessions().await;
    let mut rng = rng(2);
    let dims = Dims {
        rows: 20,
        inner: 50,
        cols: 12,
    };
    let shape = choose(dims).expect("a shape");
    let constant = |v: u64, (r, c): (usize, usize)| Array2::from_elem((r, c), v);
    let alternating = |(r, c): (usize, usize)| {
        Array2::from_shape_fn(
            (r, c),
            |(i, j)| if (i + j) % 2 == 0 { 1 << 63 } else { u64::MAX },
        )
    };
    let (ad, bd) = ((dims.rows, dims.inner), (dims.inner, dims.cols));
    for (what, a, b) in [
        ("all 2^63", constant(1 << 63, ad), constant(1 << 63, bd)),
        ("all -1", constant(u64::MAX, ad), constant(u64::MAX, bd)),
        ("alternating", alternating(ad), alternating(bd)),
        ("2^63 by -1", constant(1 << 63, ad), constant(u64::MAX, bd)),
    ] {
        check_cross_terms(
            &mut sessions,
            shape,
            dims,
            [a.clone(), a],
            [b.clone(), b],
            what,
        )
        .await;
    }
    // Random shapes (non-multiples of the blocks, single rows and columns), both parties'
    // factors random.
    let mut shapes: Vec<(usize, usize, usize)> = (0..4)
        .map(|_| {
            (
                rng.random_range(1..40),
                rng.random_range(1..300),
                rng.random_range(1..40),
            )
        })
        .collect();
    shapes.extend([(1, 784, 128), (128, 3, 1), (1, 1, 1), (64, 100, 10)]);
    for (m, n, k) in shapes {
        let plan = ProductPlan::for_triple(m, n, k).expect("a shape");
        let (r, i, c) = (plan.dims.rows, plan.dims.inner, plan.dims.cols);
        let a = [random(&mut rng, r, i), random(&mut rng, r, i)];
        let b = [random(&mut rng, i, c), random(&mut rng, i, c)];
        check_cross_terms(
            &mut sessions,
            plan.shape,
            plan.dims,
            a,
            b,
            &format!("{m}x{n}x{k}"),
        )
        .await;
    }
    // Several rounds (row chunks and groups of inner blocks) and several reply parts, forced
    // small.
    let dims = Dims {
        rows: 9,
        inner: 40,
        cols: 6,
    };
    let shape = BlockShape {
        d0: 2,
        d1: 8,
        d2: 4,
        group: 2,
        chunk: 2,
        part: 1,
    };
    let a = [random(&mut rng, 9, 40), constant(1 << 63, (9, 40))];
    let b = [constant(u64::MAX, (40, 6)), random(&mut rng, 40, 6)];
    check_cross_terms(&mut sessions, shape, dims, a, b, "rounds, groups and parts").await;
    // A stride that is not a power of two: V's plaintext is transformed whole.
    let dims = Dims {
        rows: 10,
        inner: 80,
        cols: 40,
    };
    let shape = BlockShape {
        d0: 5,
        d1: 40,
        d2: 40,
        group: 2,
        chunk: 1,
        part: 1,
    };
    assert_eq!(
        (encoding::stride(&shape), encoding::transform_stride(&shape)),
        (5, 1)
    );
    let a = [random(&mut rng, 10, 80), constant(1 << 63, (10, 80))];
    let b = [constant(u64::MAX, (80, 40)), random(&mut rng, 80, 40)];
    check_cross_terms(&mut sessions, shape, dims, a, b, "a stride of 5").await;
}

/// E's side of a test without the link: a key, and the ciphertexts of one block of `a`
/// for each inner block.
struct Encryptor {
    secret: crate::rlwe::keys::SecretKey,
    public: crate::rlwe::keys::PublicKey,
    cts: Vec<Ciphertext>,
}

fn encryptor(shape: &BlockShape, dims: Dims, a: &Array2<u64>, rng: &mut ChaCha20Rng) -> Encryptor {
    let secret = crate::rlwe::keys::SecretKey::generate(rng, &M);
    let public = crate::rlwe::keys::PublicKey::generate(&secret, rng);
    let seed = sample::seed(rng);
    let cts = (0..dims.inner.div_ceil(shape.d1))
        .map(|j| {
            let cols = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
            let plain = M.scaled(&encoding::lhs(shape, a.slice(s![.., cols])));
            let c0 = encrypt(&secret, plain, &seed, j as u64, rng);
            Ciphertext {
                c0,
                c1: sample::uniform(&seed, j as u64, M.basis(), M.limbs()),
            }
        })
        .collect();
    Encryptor {
        secret,
        public,
        cts,
    }
}

/// V's accumulated product of one result block (NTT domain).
fn accumulate(shape: &BlockShape, dims: Dims, cts: &[Ciphertext], b: &Array2<u64>) -> Ciphertext {
    let mut acc = Accumulator::new(M.basis());
    for (j, ct) in cts.iter().enumerate() {
        let rows = j * shape.d1..((j + 1) * shape.d1).min(dims.inner);
        let plain = M.centered_strided(
            &encoding::rhs(shape, b.slice(s![rows, ..])),
            encoding::transform_stride(shape),
        );
        acc.add_product(ct, &plain);
    }
    acc.reduce()
}

/// The noise of a reply (coefficient domain, before the switch) at the coefficients `at`,
/// whose messages are `messages`: `c0 + c1·s - round(Q·m/2^64)`, reconstructed exactly from
/// all seven residues (flooded noise reaches `2^151`).
fn noise_at(e: &Encryptor, reply: &Ciphertext, at: &[usize], messages: &[u64]) -> Vec<BigInt> {
    let mut c1 = reply.c1.clone();
    c1.to_ntt();
    let mut c1s = RnsPoly::zero(M.basis(), M.limbs());
    c1s.mul_accumulate(&c1, e.secret.ntt());
    c1s.to_coefficients();
    let message: Vec<(usize, u64)> = at.iter().copied().zip(messages.iter().copied()).collect();
    let scaled = M.scaled(&message);
    let primes = M.basis().primes();
    let q_all: BigInt = primes.iter().map(|&q| BigInt::from(q)).product();
    at.iter()
        .map(|&j| {
            // CRT: x = sum_i v_i·(Q/q_i)·((Q/q_i)^-1 mod q_i) mod Q, centred.
            let mut x = BigInt::from(0);
            for (i, &q) in primes.iter().enumerate() {
                let q64 = u64::from(q);
                let v = (u64::from(reply.c0.limb(i)[j]) + u64::from(c1s.limb(i)[j]) + q64
                    - u64::from(scaled.limb(i)[j]))
                    % q64;
                let others = &q_all / BigInt::from(q);
                let inverse =
                    (&others % BigInt::from(q)).modpow(&BigInt::from(q64 - 2), &BigInt::from(q));
                x += BigInt::from(v) * others * inverse;
            }
            x %= &q_all;
            if x > &q_all / 2 { x - &q_all } else { x }
        })
        .collect()
}

#[test]
fn the_product_noise_stays_below_its_worst_case_bound() {
    let mut rng = rng(3);
    let shape = BlockShape {
        d0: 8,
        d1: 32,
        d2: 16,
        group: 4,
        chunk: 1,
        part: 1,
    };
    let dims = Dims {
        rows: 8,
        inner: 128,
        cols: 16,
    };
    let bound = BigInt::from(noise::product_noise_bound(shape.group, shape.d1, shape.d2));
    for (what, value) in [("all 2^63", 1u64 << 63), ("all -1", u64::MAX)] {
        let a = Array2::from_elem((dims.rows, dims.inner), value);
        let b = Array2::from_elem((dims.inner, dims.cols), value);
        let e = encryptor(&shape, dims, &a, &mut rng);
        let acc = accumulate(&shape, dims, &e.cts, &b);
        let reply = crate::rlwe::rerandomize::rerandomize(&e.public, acc, &mut rng);
        let at = encoding::block_results(&shape, dims, 0, 0);
        let want = product(&a, &b);
        let noise = noise_at(&e, &reply, &at, want.as_slice().expect("standard layout"));
        let worst = noise.iter().map(|v| v.magnitude()).max().expect("results");
        eprintln!(
            "{what}: largest noise 2^{}, bound 2^{}",
            worst.bits(),
            bound.bits()
        );
        let worst = BigInt::from(worst.clone());
        assert!(
            worst <= bound,
            "{what}: noise {worst} above the bound {bound}"
        );
        // The flooded reply decrypts exactly, every time.
        for _ in 0..3 {
            let acc = accumulate(&shape, dims, &e.cts, &b);
            let ct = crate::rlwe::rerandomize::rerandomize(&e.public, acc, &mut rng);
            let reply = finish(
                &M,
                ct,
                &at,
                noise::flood_bits(shape.group, shape.d1, shape.d2),
                &mut rng,
            );
            let c0: Vec<(usize, u128)> = at.iter().copied().zip(reply.c0).collect();
            let got: Vec<u64> = M
                .decrypt(&e.secret, &reply.c1, &c0)
                .into_iter()
                .zip(&reply.r)
                .map(|(x, r)| M.decode(x).wrapping_add(*r))
                .collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "{what}");
        }
    }
}

/// What E sees of `trials` replies for one matrix of V: the noise left after decoding (the
/// low 16 bits of `x`, centred), the top and low bytes of `c1'`'s coefficients and the top byte of
/// `c0'` at the results. `leaky` skips the re-randomisation (the control).
fn views(
    e: &Encryptor,
    shape: &BlockShape,
    dims: Dims,
    b: &Array2<u64>,
    trials: usize,
    leaky: bool,
    rng: &mut ChaCha20Rng,
) -> [Vec<u64>; 4] {
    let at = encoding::block_results(shape, dims, 0, 0);
    let flood_bits = noise::flood_bits(shape.group, shape.d1, shape.d2);
    let mut hist = [
        vec![0u64; 256],
        vec![0u64; 256],
        vec![0u64; 256],
        vec![0u64; 256],
    ];
    for _ in 0..trials {
        let mut acc = accumulate(shape, dims, &e.cts, b);
        let ct = if leaky {
            acc.c0.to_coefficients();
            acc.c1.to_coefficients();
            acc
        } else {
            crate::rlwe::rerandomize::rerandomize(&e.public, acc, rng)
        };
        let reply = finish(&M, ct, &at, flood_bits, rng);
        let c0: Vec<(usize, u128)> = at.iter().copied().zip(reply.c0.iter().copied()).collect();
        for x in M.decrypt(&e.secret, &reply.c1, &c0) {
            let low =
                ((x as u64 & 0xffff) as i64 - if x & 0x8000 != 0 { 0x10000 } else { 0 }) + 0x8000;
            hist[0][(low >> 8) as usize] += 1;
        }
        for &c in &reply.c1 {
            hist[1][(c >> 72) as usize] += 1;
            hist[2][(c & 0xff) as usize] += 1;
        }
        for &c in &reply.c0 {
            hist[3][(c >> 72) as usize] += 1;
        }
    }
    hist
}

#[test]
fn replies_look_the_same_whatever_the_evaluators_matrix() {
    let mut rng = rng(4);
    let shape = BlockShape {
        d0: 16,
        d1: 16,
        d2: 16,
        group: 2,
        chunk: 1,
        part: 1,
    };
    let dims = Dims {
        rows: 16,
        inner: 32,
        cols: 16,
    };
    let a = random(&mut rng, dims.rows, dims.inner);
    let e = encryptor(&shape, dims, &a, &mut rng);
    let zeros = Array2::<u64>::zeros((dims.inner, dims.cols));
    let extreme = Array2::from_elem((dims.inner, dims.cols), 1u64 << 63);
    let trials = 40;
    let names = [
        "decoded noise",
        "c1' top byte",
        "c1' low byte",
        "c0' top byte",
    ];
    let (p, q) = (
        views(&e, &shape, dims, &zeros, trials, false, &mut rng),
        views(&e, &shape, dims, &extreme, trials, false, &mut rng),
    );
    for ((name, p), q) in names.iter().zip(&p).zip(&q) {
        stats::assert_same_distribution(name, p, q);
    }
    // The control: without re-randomisation `c1'` reveals the matrix, and the test sees it.
    let (p, q) = (
        views(&e, &shape, dims, &zeros, 4, true, &mut rng),
        views(&e, &shape, dims, &extreme, 4, true, &mut rng),
    );
    let (stat, df) = stats::chi_square_homogeneity(&p[1], &q[1]);
    assert!(
        stat > 100.0 * stats::critical(df),
        "the leak goes unseen: {stat:.1}"
    );
}

#[test]
fn flooding_hides_the_product_noise() {
    // Before the switch, the noise of a product by all-2^63 entries is about 2^76 and of a
    // product by zeros about 2^15: the sign and bit length of the noise tell them apart unless
    // the flooding drowns both.
    let mut rng = rng(5);
    let shape = BlockShape {
        d0: 16,
        d1: 16,
        d2: 16,
        group: 2,
        chunk: 1,
        part: 1,
    };
    let dims = Dims {
        rows: 16,
        inner: 32,
        cols: 16,
    };
    let a = random(&mut rng, dims.rows, dims.inner);
    let e = encryptor(&shape, dims, &a, &mut rng);
    let at = encoding::block_results(&shape, dims, 0, 0);
    let classes = |b: &Array2<u64>, flood: bool, rng: &mut ChaCha20Rng| {
        let want = product(&a, b);
        let mut hist = vec![0u64; 384];
        for _ in 0..20 {
            let acc = accumulate(&shape, dims, &e.cts, b);
            let mut reply = crate::rlwe::rerandomize::rerandomize(&e.public, acc, rng);
            if flood {
                for &j in &at {
                    reply.c0.add_at(
                        j,
                        sample::flood(rng, noise::flood_bits(shape.group, shape.d1, shape.d2)),
                    );
                }
            }
            for v in noise_at(&e, &reply, &at, want.as_slice().expect("layout")) {
                let length = v.magnitude().bits() as usize;
                hist[length + if v.sign() == Sign::Minus { 192 } else { 0 }] += 1;
            }
        }
        hist
    };
    let zeros = Array2::<u64>::zeros((dims.inner, dims.cols));
    let extreme = Array2::from_elem((dims.inner, dims.cols), 1u64 << 63);
    let (p, q) = (
        classes(&zeros, true, &mut rng),
        classes(&extreme, true, &mut rng),
    );
    stats::assert_same_distribution("flooded noise", &p, &q);
    let (p, q) = (
        classes(&zeros, false, &mut rng),
        classes(&extreme, false, &mut rng),
    );
    let (stat, df) = stats::chi_square_homogeneity(&p, &q);
    assert!(
        stat > 10.0 * stats::critical(df),
        "unflooded noise should differ: {stat:.1}"
    );
}

#[test]
fn malformed_messages_and_requests_are_errors() {
    let mut rng = rng(6);
    let dims = Dims {
        rows: 3,
        inner: 5,
        cols: 2,
    };
    let shape = choose(dims).expect("a shape");
    let round = &Round::all(&shape, dims)[0];
    // V: ciphertexts of the wrong length or with a residue above its prime.
    for message in [
        vec![],
        vec![0u8; 40],
        vec![0xff; 32 + round.rows.len() * round.inner.len() * 31 * N * M.limbs() / 8],
    ] {
        assert!(
            evaluator::parse_message(&message, round).is_err(),
            "{} bytes",
            message.len()
        );
    }
    // E: replies of the wrong length.
    let secret = crate::rlwe::keys::SecretKey::generate(&mut rng, &M);
    let mut share = Array2::zeros((dims.rows, dims.cols));
    for reply in [vec![], vec![0u8; 11], vec![0u8; (N + 6) * 10 + 1]] {
        let result = encryptor::decrypt_reply(
            &secret,
            &reply,
            &shape,
            dims,
            round.rows.clone(),
            0..1,
            &mut share,
        );
        assert!(result.is_err(), "{} bytes", reply.len());
    }
    // Requests the generator cannot serve are refused, not panics.
    assert!(ProductPlan::for_triple(0, 4, 4).is_err());
    let bad = BlockShape {
        d0: 64,
        d1: 64,
        d2: 64,
        group: 1,
        chunk: 1,
        part: 1,
    };
    assert!(!bad.is_valid(dims));
    assert!(!BlockShape { chunk: 0, ..shape }.is_valid(dims));
    assert!(
        !BlockShape {
            group: 1 << 20,
            ..shape
        }
        .is_valid(dims)
    );
    assert!(shape.is_valid(dims));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_shapes_and_factors_are_refused_before_anything_is_sent() {
    let (mut sessions, _links) = sessions().await;
    let dims = Dims {
        rows: 3,
        inner: 5,
        cols: 2,
    };
    let shape = choose(dims).expect("a shape");
    let [s0, _] = &mut sessions;
    let wrong = s0
        .cross_terms(shape, dims, Array2::zeros((3, 4)), Array2::zeros((5, 2)))
        .await;
    assert!(wrong.expect_err("refused").to_string().contains("factors"));
    let bad = BlockShape { chunk: 0, ..shape };
    let refused = s0
        .cross_terms(bad, dims, Array2::zeros((3, 5)), Array2::zeros((5, 2)))
        .await;
    assert!(
        refused
            .expect_err("refused")
            .to_string()
            .contains("cannot carry")
    );
}
