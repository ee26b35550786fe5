//! Adam (Kingma and Ba, 2015; PyTorch's `torch.optim.Adam`) written against [`Backend`], so
//! the secure job, its plaintext references and its plan run the same update:
//!
//! ```text
//! g  <- g + wd·W                               (L2 weight decay, as PyTorch's Adam)
//! m̂  <- m̂ + (1 - β1)/(1 - β1^t) · (g - m̂)      (= m_t / (1 - β1^t))
//! v̂  <- v̂ + (1 - β2)/(1 - β2^t) · (g² - v̂)     (= v_t / (1 - β2^t))
//! W  <- W - lr_t · m̂ / sqrt(v̂ + ε²)
//! ```
//!
//! Two choices differ from PyTorch's text, neither from its arithmetic beyond `ε`:
//!
//! - The moments are kept bias-corrected (`m̂`, `v̂`, each PyTorch's `m`, `v` times a public
//!   factor): `v_t` would be `1 - β2 = 1/1000` of `g²` in the first step, below the fixed
//!   point's resolution for most gradients, where `v̂` is `g²` itself. Each update is one
//!   product by a public factor (one truncation), as PyTorch's `lerp`.
//! - PyTorch divides by `sqrt(v̂) + ε`; this divides by `sqrt(v̂ + ε²)`: the same to within a
//!   factor `sqrt(2)` where `v̂ ≈ ε²` and to within `ε²/(2v̂)` elsewhere, and a square root of a
//!   value at least `ε²`, which bounds the range the inverse square root must cover. `ε`
//!   defaults to `2^-10` (PyTorch's `1e-8` is far below a 16-bit fraction; [`Adam::validate`]).
//!
//! `v̂` is held at `2f` fractional bits (as an element at `f`, `v̂·2^f`): a gradient of `2^-10`
//! squares to 16 units there, to nothing at `f`. Every gradient must stay below
//! [`GRADIENT_BOUND`] in magnitude, which keeps `v̂·2^(2f)` below `2^44` and each truncation of
//! the update inside the window `2^61` (the largest, `(g² - v̂)` times a factor of up to `2^16`,
//! below `2^60`; the plaintext fixed-point run reports its headroom). These ranges are worked
//! out for `f = 16`, the only format Adam accepts. A gradient beyond the bound makes `v̂`
//! meaningless; the table then gives 0 below `ε²/2` and above its range, so such a parameter is
//! almost surely left where it is rather than thrown by a diverging Newton iteration.
//!
//! `1/sqrt(x)` for the secret `x = v̂ + ε²` is [`InverseSqrt`]: a public step table of `x`'s
//! range (one batched comparison per segment, no value revealed) as the starting guess, then
//! Newton's iteration `u <- u·(3 - x·u²)/2`, three fixed-point products each.

use ndarray::ArrayD;

use super::Backend;
use crate::protocols::Piecewise;
use crate::{FixedPoint, ProtocolError};

/// The bound on every gradient element (and so on `sqrt(v̂)`) that Adam's fixed-point ranges
/// assume: `2^6`.
pub const GRADIENT_BOUND: f64 = 64.0;

/// Each segment of the starting guess covers a factor 4 of `x` (2 octaves, a factor 2 of
/// `1/sqrt(x)`).
const SEGMENT: f64 = 4.0;

/// The guess on a segment `[a, 4a)` is `GUESS / sqrt(a)`, so `r = u·sqrt(x)` starts in
/// `[GUESS, 2·GUESS]` (up to the table's rounding, a part in a thousand), below Newton's limit
/// `sqrt(3)`. `GUESS = sqrt(3/7)` makes both ends land on the same first iterate (`φ(GUESS) =
/// φ(2·GUESS)`), the best worst case: four iterations take it within `5.3e-6` of 1
/// ([`InverseSqrt::error_bound`]).
const GUESS: f64 = 0.654_653_670_707_977_1;

/// The fractional bits Adam's ranges are worked out for (the module documentation).
const FRACTION_BITS: u32 = 16;

/// Newton's iterations run until the relative error bound is below this: finer than the
/// fixed-point rounding of `u` over most of its range (`2^-10` at `u = 2^-6`, `f = 16`).
pub(crate) const TARGET: f64 = 1.0 / 4096.0;

/// Adam's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// The first moment's decay `β1`, in `[0, 1)`.
    pub beta1: f64,
    /// The second moment's decay `β2`, in `[0, 1)`.
    pub beta2: f64,
    /// `ε`, in `[2^-12, 1]`: see the module documentation.
    pub eps: f64,
}

impl Default for Adam {
    /// PyTorch's betas `(0.9, 0.999)`; `ε = 2^-10`.
    fn default() -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1.0 / 1024.0,
        }
    }
}

impl Adam {
    /// Refuses constants outside their ranges, and a fixed point other than the one Adam's
    /// ranges are worked out for. The smallest `ε` is `2^-12` (`ε²/2 = 2^-25`: 128 units at
    /// `2f` bits, so the table's first breakpoint is resolved).
    pub fn validate(&self, fixed: FixedPoint) -> Result<(), String> {
        for (name, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(format!("Adam's {name} must be in [0, 1), got {beta}"));
            }
        }
        in_range(self.eps, fixed)
    }

    /// The factors of step `t` (0-based) that move the bias-corrected moments:
    /// `(1 - β)/(1 - β^(t+1))` for each, 1 in the first step.
    pub fn moment_factors(&self, t: u64) -> (f64, f64) {
        let factor = |beta: f64| (1.0 - beta) / (1.0 - beta.powf((t + 1) as f64));
        (factor(self.beta1), factor(self.beta2))
    }
}

/// Refuses an `ε` or a format the inverse square root's ranges do not cover: `ε` in
/// `[2^-12, 1]`, `f = 16` ([`Adam::validate`]).
fn in_range(eps: f64, fixed: FixedPoint) -> Result<(), String> {
    if fixed.f != FRACTION_BITS {
        return Err(format!(
            "Adam needs {FRACTION_BITS} fractional bits (its ranges are worked out for them), \
             got {}",
            fixed.f
        ));
    }
    if !(1.0 / 4096.0..=1.0).contains(&eps) {
        return Err(format!("Adam's eps must be in [2^-12, 1], got {eps}"));
    }
    Ok(())
}

/// `1/sqrt(x)` for `x` in `[ε², GRADIENT_BOUND² + ε²)`, held as `x·2^f`: the step table and
/// the Newton iterations after it.
#[derive(Debug, Clone)]
pub struct InverseSqrt {
    /// The starting guess: `GUESS/ε` on `[ε²/2, 4ε²)`, `GUESS/sqrt(a)` on each `[a, 4a)`
    /// above, and 0 below `ε²/2` and from `GRADIENT_BOUND² + ε²` up, where `x` can only be a
    /// gradient beyond the bound (Newton could diverge there; a 0 stays 0).
    pub table: Piecewise,
    /// Newton's iterations.
    pub iterations: u32,
}

impl InverseSqrt {
    /// The method for `ε` in `fixed`; refused outside the ranges [`Adam::validate`] allows.
    pub fn new(eps: f64, fixed: FixedPoint) -> Result<InverseSqrt, ProtocolError> {
        in_range(eps, fixed).map_err(ProtocolError::Shape)?;
        let wide = 2f64.powi(fixed.f as i32);
        let top = GRADIENT_BOUND * GRADIENT_BOUND + eps * eps;
        let mut breakpoints = vec![eps * eps / 2.0 * wide];
        let mut values = vec![GUESS / eps];
        let mut a = SEGMENT * eps * eps;
        while a < GRADIENT_BOUND * GRADIENT_BOUND {
            breakpoints.push(a * wide);
            values.push(GUESS / a.sqrt());
            a *= SEGMENT;
        }
        breakpoints.push(top * wide);
        values.push(0.0);
        let (iterations, _) = InverseSqrt::error_bound();
        Ok(InverseSqrt {
            table: Piecewise::steps(&breakpoints, &values, 0.0, fixed),
            iterations,
        })
    }

    /// Newton's iterations to [`TARGET`] and the bound on `|1 - u·sqrt(x)|` after them, in
    /// exact arithmetic. With `r = u·sqrt(x)`, one iteration maps `r` to `φ(r) = r(3 - r²)/2`,
    /// which is at most 1 for `r >= 0`, increasing on `[0, 1]` and decreasing on `[1, sqrt 3]`:
    /// from `r_0` in `[GUESS, sqrt(SEGMENT)·GUESS]` the first iteration lands in
    /// `[min φ(ends), 1]` and every later one moves up towards 1, so the lower end bounds the
    /// error.
    pub fn error_bound() -> (u32, f64) {
        let phi = |r: f64| r * (3.0 - r * r) / 2.0;
        let (low, high) = (GUESS, GUESS * SEGMENT.sqrt());
        let mut r = phi(low).min(phi(high));
        let mut iterations = 1;
        while 1.0 - r > TARGET {
            r = phi(r);
            iterations += 1;
        }
        (iterations, 1.0 - r)
    }
}

/// `1/sqrt(x)` for `x` given as `x·2^f` (an element at `2f` fractional bits), by `method`.
pub(crate) async fn inverse_sqrt<B: Backend>(
    backend: &mut B,
    x: &ArrayD<B::E>,
    method: &InverseSqrt,
) -> Result<ArrayD<B::E>, ProtocolError> {
    let f = backend.fixed().f;
    let three = backend.import(&ArrayD::from_elem(x.raw_dim(), 3.0));
    let mut u = backend.piecewise(x, &method.table).await?;
    for _ in 0..method.iterations {
        // `x·u` at 2f bits: at f it would keep only 4 bits where `sqrt(x)` is 2^-12, and
        // `u²` first would keep 4 where it is 2^6.
        let xu = backend.mul(x, &u, f).await?;
        let xuu = backend.mul(&xu, &u, 2 * f).await?;
        u = backend.mul(&u, &(&three - &xuu), f + 1).await?;
    }
    Ok(u)
}

/// One Adam step of step `t`'s settings on `w` with its gradient `g` (batch-averaged, at `f`)
/// and its moments `(m̂, v̂·2^f)`, both updated.
pub(crate) async fn step<B: Backend>(
    backend: &mut B,
    settings: AdamStep,
    w: &mut ArrayD<B::E>,
    g: ArrayD<B::E>,
    (m, v): (&mut ArrayD<B::E>, &mut ArrayD<B::E>),
) -> Result<(), ProtocolError> {
    let g = super::optimizer::decayed(backend, g, w, settings.weight_decay).await?;
    let (first, second) = settings.moment_factors;
    *m = &*m + &backend.scale(&(&g - &*m), first).await?;
    let squared = backend.mul(&g, &g, 0).await?;
    *v = &*v + &backend.scale(&(&squared - &*v), second).await?;
    let fixed = backend.fixed();
    let eps_squared = settings.eps * settings.eps * 2f64.powi(fixed.f as i32);
    let x = &*v + &backend.import(&ArrayD::from_elem(v.raw_dim(), eps_squared));
    let u = inverse_sqrt(backend, &x, &InverseSqrt::new(settings.eps, fixed)?).await?;
    let direction = backend.mul(m, &u, fixed.f).await?;
    *w = &*w - &backend.scale(&direction, settings.rate).await?;
    Ok(())
}

/// What one Adam step needs besides the tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// This step's learning rate.
    pub rate: f64,
    /// [`Adam::moment_factors`] of this step.
    pub moment_factors: (f64, f64),
    /// `ε`.
    pub eps: f64,
    /// The L2 weight decay.
    pub weight_decay: f64,
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::Z64;
    use crate::nn::{PlainFixed, PlainFloat, Tally};
    use crate::protocols::{Comparison, Exp};

    /// `x` log-uniformly over `[ε², GRADIENT_BOUND²)`, both ends included, as `x·2^f` reals.
    fn inputs(eps: f64, fixed: FixedPoint) -> Vec<f64> {
        let (low, high) = ((eps * eps).ln(), (GRADIENT_BOUND * GRADIENT_BOUND).ln());
        let n = 997;
        (0..n)
            .map(|i| (low + (high - low) * i as f64 / n as f64).exp())
            .chain([eps * eps, GRADIENT_BOUND * GRADIENT_BOUND * 0.999])
            .map(|x| x * 2f64.powi(fixed.f as i32))
            .collect()
    }

    fn run<T>(work: impl Future<Output = Result<T, ProtocolError>>) -> T {
        Tally::run(work).expect("backends that never wait")
    }

    #[test]
    fn four_newton_iterations_reach_the_target_from_every_guess() {
        let (iterations, bound) = InverseSqrt::error_bound();
        assert_eq!(iterations, 4);
        assert!(bound < 6e-6 && bound > 0.0, "{bound}");
        assert!((GUESS * GUESS * 7.0 - 3.0).abs() < 1e-15);
        // One comparison per two octaves of x from 4ε² = 2^-18 to 2^12, and one at each end.
        let method = InverseSqrt::new(1.0 / 1024.0, FixedPoint::default()).expect("in range");
        assert_eq!(method.table.segments(), 17);
        assert!(method.table.is_constant());
    }

    /// In real arithmetic the method is within its bound everywhere in range (the table's
    /// constants rounded to `f` bits included).
    #[test]
    fn the_float_inverse_sqrt_is_within_its_bound() {
        let fixed = FixedPoint::default();
        for eps in [1.0 / 1024.0, 1.0 / 4096.0, 0.1] {
            let method = InverseSqrt::new(eps, fixed).expect("in range");
            let x = inputs(eps, fixed);
            let mut float = PlainFloat {
                fixed,
                exp: Exp::default(),
            };
            let u = run(inverse_sqrt(
                &mut float,
                &ArrayD::from_shape_vec(IxDyn(&[x.len()]), x.clone()).expect("1-d"),
                &method,
            ));
            let wide = 2f64.powi(fixed.f as i32);
            for (x, u) in x.iter().zip(&u) {
                let r = u * (x / wide).sqrt();
                assert!((1.0 - r).abs() <= TARGET, "eps {eps}: x {x}, r {r}");
            }
        }
    }

    /// In fixed point each Newton step adds a few units of rounding: within `2^-9` of the
    /// exact value, or 4 units where `u` is under a few thousand units (`x` near the top).
    #[test]
    fn the_fixed_point_inverse_sqrt_is_within_rounding_of_the_exact_value() {
        let fixed = FixedPoint::default();
        let eps = 1.0 / 4096.0;
        let method = InverseSqrt::new(eps, fixed).expect("in range");
        let x: Vec<Z64> = inputs(eps, fixed)
            .iter()
            .map(|&x| fixed.encode(x).expect("in range"))
            .collect();
        let u = run(inverse_sqrt(
            &mut PlainFixed::new(fixed),
            &ArrayD::from_shape_vec(IxDyn(&[x.len()]), x.clone()).expect("1-d"),
            &method,
        ));
        let mut worst: f64 = 0.0;
        for (x, u) in x.iter().zip(&u) {
            let exact = 1.0 / (fixed.decode(*x) / 2f64.powi(fixed.f as i32)).sqrt();
            let error = (fixed.decode(*u) - exact).abs();
            assert!(
                error <= exact / 512.0 + 4.0 * fixed.ulp(),
                "x {x:?}: {} against {exact}",
                fixed.decode(*u)
            );
            worst = worst.max(error / exact);
        }
        assert!(worst > 0.0, "rounding shows somewhere");
    }

    /// Outside the range (what a gradient beyond the bound leaves in `v̂`: too large, or
    /// wrapped round to negative) the guess is 0 and stays 0: the parameter is not moved
    /// rather than Newton diverging.
    #[test]
    fn outside_the_range_nothing_moves() {
        let fixed = FixedPoint::default();
        let eps = 1.0 / 1024.0;
        let method = InverseSqrt::new(eps, fixed).expect("in range");
        let wide = 2f64.powi(fixed.f as i32);
        let top = (GRADIENT_BOUND * GRADIENT_BOUND + eps * eps) * wide;
        let x = ArrayD::from_shape_vec(IxDyn(&[4]), vec![top, 4.0 * top, -1.0, eps * eps / 4.0])
            .expect("1-d");
        let mut float = PlainFloat {
            fixed,
            exp: Exp::default(),
        };
        let u = run(inverse_sqrt(&mut float, &x, &method));
        assert!(u.iter().all(|&u| u == 0.0), "{u:?}");
    }

    /// The plan's count: one comparison per breakpoint and no product for the guess, three
    /// fixed-point products per iteration.
    #[test]
    fn the_inverse_sqrt_takes_the_table_and_three_products_per_iteration() {
        let fixed = FixedPoint::default();
        let method = InverseSqrt::new(1.0 / 1024.0, fixed).expect("in range");
        let cmp = Comparison::default();
        let mut tally = Tally::new(fixed, cmp, Exp::default());
        let n = 10;
        run(inverse_sqrt(
            &mut tally,
            &ArrayD::zeros(IxDyn(&[n])),
            &method,
        ));
        let want = crate::cost::drelu_ring(17 * n, cmp) + crate::cost::mul_fixed(3 * 4 * n);
        assert_eq!(tally.demand, want);
    }

    #[test]
    fn constants_out_of_range_are_refused() {
        let fixed = FixedPoint::default();
        assert!(Adam::default().validate(fixed).is_ok());
        // The inverse square root refuses them too, with an error rather than a panic.
        assert!(InverseSqrt::new(1e-8, fixed).is_err());
        assert!(InverseSqrt::new(1.0 / 1024.0, FixedPoint::new(26).expect("a format")).is_err());
        let other = FixedPoint::new(20).expect("a format");
        assert!(Adam::default().validate(other).is_err());
        for bad in [
            Adam {
                beta1: 1.0,
                ..Adam::default()
            },
            Adam {
                beta2: -0.1,
                ..Adam::default()
            },
            Adam {
                eps: 1e-8,
                ..Adam::default()
            },
            Adam {
                eps: GRADIENT_BOUND,
                ..Adam::default()
            },
        ] {
            assert!(bad.validate(fixed).is_err(), "{bad:?}");
        }
        assert_eq!(Adam::default().moment_factors(0), (1.0, 1.0));
        let (first, second) = Adam::default().moment_factors(9);
        assert!((first - 0.1 / (1.0 - 0.9f64.powi(10))).abs() < 1e-12);
        assert!((second - 0.001 / (1.0 - 0.999f64.powi(10))).abs() < 1e-12);
    }
}
