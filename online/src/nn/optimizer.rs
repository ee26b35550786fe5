//! How a training step turns each layer's gradients into an update: PyTorch's
//! `torch.optim.SGD` (momentum, Nesterov, weight decay) with a learning-rate schedule, written
//! once against [`Backend`] so that the secure job, its plaintext references and its plan
//! compute and count the same thing.
//!
//! The paper (§7.4) trains with plain SGD at a power-of-two rate, which folds into the
//! gradient's truncation: `W -= (X^T·delta) / 2^(f + lr_shift + log2 batch)`, no extra
//! randomness. That path ([`Rule::Shift`]) is kept, bit for bit, for every job that asks for
//! nothing else. Any other optimizer takes the batch-averaged gradient `g` at scale `f` and
//! follows PyTorch's update, each product by a public factor one [`Backend::scale`] (a local
//! multiplication and one truncation, one daBit per element):
//!
//! ```text
//! g <- g + wd·W                       (weight decay, when wd > 0)
//! v <- mu·v + g                       (momentum, when mu > 0; v starts at 0)
//! d <- g + mu·v  (Nesterov)  or  v
//! W <- W - lr_t·d
//! ```
//!
//! All factors are public, so nothing about the data or the model is revealed; their cost is
//! one truncation per parameter for the rate, and one more for each of weight decay, momentum
//! and Nesterov ([`Optimizer::truncations_per_parameter`]). Biases are updated by the same rule
//! (PyTorch decays them too), in the same truncations as the weights. Rates below
//! `2^-(k-2-f)` would round to 0: a job refuses a base rate that small.
//!
//! Adam ([`super::adam`]) takes the same schedules, warm-up and weight decay in place of
//! momentum; its per-parameter inverse square root makes it far dearer (the plan counts it).

use std::fmt;

use super::adam::{self, Adam, AdamStep};
use super::{Backend, LayerParams};
use crate::ProtocolError;

/// A learning-rate schedule: the rate of step `t` (0-based) as a factor of the base rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Times `gamma` after every `every` steps (PyTorch's `StepLR`).
    Step {
        /// Steps between decays.
        every: u64,
        /// The factor of each decay, in `(0, 1]`.
        gamma: f64,
    },
    /// Half a cosine from the base rate down to 0 over `total` steps (PyTorch's
    /// `CosineAnnealingLR` with `T_max = total`, `eta_min = 0`).
    Cosine {
        /// Steps of the whole decay (the job's steps).
        total: u64,
    },
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant => write!(f, "constant"),
            Schedule::Step { every, gamma } => write!(f, "step:{every}:{gamma}"),
            Schedule::Cosine { total } => write!(f, "cosine:{total}"),
        }
    }
}

/// SGD as PyTorch users configure it. [`Optimizer::sgd`] is the paper's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Optimizer {
    /// The base learning rate, in `(0, 1]`.
    pub lr: f64,
    /// How the rate changes over the steps.
    pub schedule: Schedule,
    /// Steps of linear warm-up: step `t < warmup` runs at `(t + 1) / warmup` of the scheduled
    /// rate.
    pub warmup: u64,
    /// The momentum factor `mu`, in `[0, 1)`; 0 is plain SGD.
    pub momentum: f64,
    /// Nesterov's momentum (needs `momentum > 0`).
    pub nesterov: bool,
    /// The weight decay `wd` (L2, added to the gradient), in `[0, 1)`.
    pub weight_decay: f64,
    /// Adam instead of SGD (no momentum then: Adam's first moment is its own).
    pub adam: Option<Adam>,
}

/// What an optimizer asked for that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct OptimizerError(String);

impl Optimizer {
    /// Plain SGD at the rate `2^-lr_shift` (the paper's training, §7.4).
    pub fn sgd(lr_shift: u32) -> Optimizer {
        Optimizer {
            lr: 0.5f64.powi(lr_shift as i32),
            schedule: Schedule::Constant,
            warmup: 0,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            adam: None,
        }
    }

    /// Refuses factors outside their ranges (each is a public factor of at most 1, which
    /// keeps the scaled values inside the truncation window), and Adam's constants outside
    /// what its inverse square root covers in `fixed` ([`Adam::validate`]).
    pub fn validate(&self, fixed: crate::FixedPoint) -> Result<(), OptimizerError> {
        let bad = |what: String| Err(OptimizerError(what));
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return bad(format!(
                "the learning rate must be in (0, 1], got {}",
                self.lr
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("momentum must be in [0, 1), got {}", self.momentum));
        }
        if let Some(adam) = self.adam {
            if self.momentum > 0.0 || self.nesterov {
                return bad(
                    "Adam keeps its own first moment: no momentum or Nesterov with it".into(),
                );
            }
            adam.validate(fixed).map_err(OptimizerError)?;
        }
        if self.nesterov && self.momentum == 0.0 {
            return bad("Nesterov's momentum needs a momentum above 0".into());
        }
        if !(0.0..1.0).contains(&self.weight_decay) {
            return bad(format!(
                "weight decay must be in [0, 1), got {}",
                self.weight_decay
            ));
        }
        match self.schedule {
            Schedule::Step { every, gamma } if every == 0 || !(gamma > 0.0 && gamma <= 1.0) => {
                bad(format!(
                    "a step schedule needs at least 1 step between decays and a factor in (0, 1], got {every} and {gamma}"
                ))
            }
            Schedule::Cosine { total: 0 } => bad("a cosine schedule needs at least 1 step".into()),
            _ => Ok(()),
        }
    }

    /// The learning rate of step `t` (0-based).
    pub fn rate(&self, t: u64) -> f64 {
        let scheduled = match self.schedule {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powf((t / every.max(1)) as f64),
            Schedule::Cosine { total } => {
                let progress = t.min(total) as f64 / total.max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        };
        let warm = match t < self.warmup {
            true => (t + 1) as f64 / self.warmup as f64,
            false => 1.0,
        };
        self.lr * scheduled * warm
    }

    /// `Some(s)` when the base rate is exactly `2^-s`.
    pub fn lr_shift(&self) -> Option<u32> {
        (0..64).find(|&s| self.lr == 0.5f64.powi(s as i32))
    }

    /// `Some(s)` when every step is plain SGD at the rate `2^-s`: the update folds into the
    /// gradient's truncation ([`Rule::Shift`]).
    pub fn power_of_two_shift(&self) -> Option<u32> {
        let plain = self.schedule == Schedule::Constant
            && self.warmup == 0
            && self.momentum == 0.0
            && self.weight_decay == 0.0
            && self.adam.is_none();
        self.lr_shift().filter(|_| plain)
    }

    /// How many values the optimizer keeps per parameter: none for SGD, the velocity with
    /// momentum, Adam's two moments.
    pub fn moments(&self) -> usize {
        match self.adam {
            Some(_) => 2,
            None => usize::from(self.momentum > 0.0),
        }
    }

    /// The truncations (one daBit each, and nothing else) an SGD update adds per parameter
    /// and step beyond the gradient's own: 0 on the folded path, else 1 for the rate and 1 for
    /// each of weight decay, momentum and Nesterov. `None` for Adam, whose inverse square root
    /// also takes comparisons and products (its plan counts them: [`super::adam`]).
    pub fn truncations_per_parameter(&self) -> Option<usize> {
        if self.adam.is_some() {
            return None;
        }
        Some(match self.power_of_two_shift() {
            Some(_) => 0,
            None => {
                1 + usize::from(self.weight_decay > 0.0)
                    + usize::from(self.momentum > 0.0)
                    + usize::from(self.nesterov)
            }
        })
    }

    /// The rule of step `t` for batches of `2^batch_shift`.
    pub fn rule(&self, t: u64, batch_shift: u32) -> Rule {
        if let Some(adam) = self.adam {
            return Rule::Adam {
                batch_shift,
                step: AdamStep {
                    rate: self.rate(t),
                    moment_factors: adam.moment_factors(t),
                    eps: adam.eps,
                    weight_decay: self.weight_decay,
                },
            };
        }
        match self.power_of_two_shift() {
            Some(s) => Rule::Shift(s + batch_shift),
            None => Rule::Sgd {
                batch_shift,
                rate: self.rate(t),
                momentum: self.momentum,
                nesterov: self.nesterov,
                weight_decay: self.weight_decay,
            },
        }
    }
}

impl Optimizer {
    /// Its settings besides the base rate, as a job states them (`momentum=0.9 nesterov ...`,
    /// each only when set, after `adam beta1=... beta2=... eps=...` for Adam): empty for plain
    /// SGD.
    pub fn settings(&self) -> String {
        let options = self.options().join(" ");
        match self.adam {
            Some(adam) => format!(
                "adam beta1={} beta2={} eps={} {options}",
                adam.beta1, adam.beta2, adam.eps
            )
            .trim_end()
            .to_string(),
            None => options,
        }
    }

    /// The settings besides the method and the base rate.
    fn options(&self) -> Vec<String> {
        let mut set = Vec::new();
        if self.momentum > 0.0 {
            set.push(format!("momentum={}", self.momentum));
        }
        if self.nesterov {
            set.push("nesterov".into());
        }
        if self.weight_decay > 0.0 {
            set.push(format!("weight_decay={}", self.weight_decay));
        }
        if self.schedule != Schedule::Constant {
            set.push(format!("schedule={}", self.schedule));
        }
        if self.warmup > 0 {
            set.push(format!("warmup={}", self.warmup));
        }
        set
    }
}

impl fmt::Display for Optimizer {
    /// `sgd lr=... momentum=...` or `adam lr=... beta1=... beta2=... eps=...`, then the rest of
    /// its settings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.adam {
            Some(adam) => write!(
                f,
                "adam lr={} beta1={} beta2={} eps={}",
                self.lr, adam.beta1, adam.beta2, adam.eps
            )?,
            None => write!(f, "sgd lr={}", self.lr)?,
        }
        self.options()
            .iter()
            .try_for_each(|option| write!(f, " {option}"))
    }
}

/// How one step updates the weights from `X^T·delta` (summed over the batch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `W -= (X^T·delta) / 2^shift`: plain SGD at a power-of-two rate, folded into the
    /// gradient's truncation.
    Shift(u32),
    /// PyTorch's SGD on the batch average (the module documentation).
    Sgd {
        /// `log2` of the batch size.
        batch_shift: u32,
        /// This step's learning rate.
        rate: f64,
        /// `mu`.
        momentum: f64,
        /// Nesterov's momentum.
        nesterov: bool,
        /// `wd`.
        weight_decay: f64,
    },
    /// Adam on the batch average ([`super::adam`]).
    Adam {
        /// `log2` of the batch size.
        batch_shift: u32,
        /// This step's settings.
        step: AdamStep,
    },
}

impl Rule {
    /// How far the summed gradient is scaled down before the rule sees it.
    pub fn gradient_shift(&self) -> u32 {
        match *self {
            Rule::Shift(s) => s,
            Rule::Sgd { batch_shift, .. } | Rule::Adam { batch_shift, .. } => batch_shift,
        }
    }
}

/// `x·c` for a public `c` in `[0, 1)`, as `x - x·(1 - c)` when `c > 1/2`: one truncation
/// either way, but `1 - c` keeps its 16 significant bits where `c` itself would keep them for
/// `c` (momentum 0.999 as a plain factor makes `1 - c` 0.7% too large, and every `c` above
/// `1 - 2^-17` would be exactly 1, a velocity that never decays).
async fn times<B: Backend>(
    backend: &mut B,
    x: &ndarray::ArrayD<B::E>,
    c: f64,
) -> Result<ndarray::ArrayD<B::E>, ProtocolError> {
    match c > 0.5 {
        true => Ok(x - &backend.scale(x, 1.0 - c).await?),
        false => backend.scale(x, c).await,
    }
}

/// `g + wd·w`: L2 weight decay added to the gradient, as PyTorch's SGD and Adam do (one
/// truncation; none without decay).
pub(crate) async fn decayed<B: Backend>(
    backend: &mut B,
    g: ndarray::ArrayD<B::E>,
    w: &ndarray::ArrayD<B::E>,
    weight_decay: f64,
) -> Result<ndarray::ArrayD<B::E>, ProtocolError> {
    Ok(match weight_decay > 0.0 {
        true => g + backend.scale(w, weight_decay).await?,
        false => g,
    })
}

/// Applies `rule` to one tensor `w` with its gradient `g` (already scaled by
/// [`Rule::gradient_shift`]) and the optimizer's moments of it ([`Optimizer::moments`]: the
/// velocity, or Adam's two).
pub(crate) async fn apply<B: Backend>(
    backend: &mut B,
    rule: Rule,
    w: &mut ndarray::ArrayD<B::E>,
    g: ndarray::ArrayD<B::E>,
    moments: &mut [ndarray::ArrayD<B::E>],
) -> Result<(), ProtocolError> {
    let missing = || ProtocolError::Shape("an optimizer without the moments it keeps".into());
    let (rate, momentum, nesterov, weight_decay) = match rule {
        Rule::Shift(_) => {
            *w = &*w - &g;
            return Ok(());
        }
        Rule::Adam { step, .. } => {
            let [m, v] = moments else {
                return Err(missing());
            };
            return adam::step(backend, step, w, g, (m, v)).await;
        }
        Rule::Sgd {
            rate,
            momentum,
            nesterov,
            weight_decay,
            ..
        } => (rate, momentum, nesterov, weight_decay),
    };
    let g = decayed(backend, g, w, weight_decay).await?;
    let d = match (moments.first_mut(), momentum > 0.0) {
        (Some(v), true) => {
            *v = times(backend, v, momentum).await? + &g;
            match nesterov {
                true => g + times(backend, v, momentum).await?,
                false => v.clone(),
            }
        }
        (None, true) => return Err(missing()),
        (_, false) => g,
    };
    *w = &*w - &backend.scale(&d, rate).await?;
    Ok(())
}

/// Applies `rule` to a layer's weights and biases (and their moments) as one vector, so
/// that each of the update's truncations is one round for both. On an error the layer is left
/// as it was.
pub(crate) async fn apply_layer<B: Backend>(
    backend: &mut B,
    rule: Rule,
    p: &mut LayerParams<B::E>,
    (dw, db): (ndarray::Array2<B::E>, ndarray::Array1<B::E>),
    moments: Vec<&mut LayerParams<B::E>>,
) -> Result<(), ProtocolError> {
    if let Rule::Shift(_) = rule {
        // The paper's step: a subtraction, nothing to join.
        p.w = &p.w - &dw;
        p.b = &p.b - &db;
        return Ok(());
    }
    let joined = |w: &ndarray::Array2<B::E>, b: &ndarray::Array1<B::E>| {
        ndarray::Array1::from_iter(w.iter().chain(b.iter()).cloned()).into_dyn()
    };
    let mut wb = joined(&p.w, &p.b);
    let mut kept: Vec<_> = moments.iter().map(|m| joined(&m.w, &m.b)).collect();
    apply(backend, rule, &mut wb, joined(&dw, &db), &mut kept).await?;
    let split = |all: ndarray::ArrayD<B::E>, into: &mut LayerParams<B::E>| {
        let mut values = all.into_iter();
        into.w.iter_mut().chain(into.b.iter_mut()).for_each(|x| {
            if let Some(v) = values.next() {
                *x = v;
            }
        });
    };
    split(wb, p);
    for (moment, values) in moments.into_iter().zip(kept) {
        split(values, moment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayD, IxDyn};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::model::Network;
    use crate::nn::{Hyper, Params, PlainFloat, train_step};
    use crate::protocols::{Comparison, Exp};
    use crate::{FixedPoint, randomness::Kind};

    fn tiny() -> Network {
        Network::parse("tiny", "input 1 3 3\nflatten\ndense 4\nrelu\ndense 3\n").expect("valid")
    }

    fn batch(seed: u64) -> (ArrayD<f64>, Array2<f64>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let x = ArrayD::from_shape_simple_fn(IxDyn(&[4, 1, 3, 3]), || rng.random_range(0.0..1.0));
        let y = Array2::from_shape_fn((4, 3), |(i, j)| f64::from(u8::from((i + j) % 3 == 0)));
        (x, y)
    }

    /// Every parameter of `p` as one list.
    fn flat(p: &Params<f64>) -> Vec<f64> {
        p.layers
            .iter()
            .flatten()
            .flat_map(|l| l.w.iter().chain(l.b.iter()).copied().collect::<Vec<_>>())
            .collect()
    }

    fn float() -> PlainFloat {
        PlainFloat {
            fixed: FixedPoint::default(),
            exp: Exp::default(),
        }
    }

    /// The batch-averaged gradient at `params`: the change of one step at rate 1 and nothing
    /// else.
    async fn gradient(net: &Network, params: &Params<f64>, seed: u64) -> Vec<f64> {
        let mut stepped = params.clone();
        let rule = Rule::Sgd {
            batch_shift: 2,
            rate: 1.0,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let (x, y) = batch(seed);
        train_step(
            &mut float(),
            net,
            (&mut stepped, &mut []),
            (x, &y),
            rule,
            false,
        )
        .await
        .expect("a step");
        flat(params)
            .iter()
            .zip(flat(&stepped))
            .map(|(a, b)| a - b)
            .collect()
    }

    /// Four steps of the optimizer against `torch.optim.SGD`'s update written out on the same
    /// gradients: weight decay, momentum (or Nesterov's), and the scheduled, warmed-up rate.
    #[tokio::test]
    async fn steps_as_pytorch_sgd_does() {
        let net = tiny();
        for (momentum, nesterov, weight_decay, schedule) in [
            (0.0, false, 0.0, Schedule::Constant),
            (
                0.9,
                false,
                0.0,
                Schedule::Step {
                    every: 2,
                    gamma: 0.5,
                },
            ),
            (0.9, true, 0.01, Schedule::Cosine { total: 4 }),
            (0.5, false, 0.1, Schedule::Constant),
        ] {
            let optimizer = Optimizer {
                lr: 0.3,
                schedule,
                warmup: 2,
                momentum,
                nesterov,
                weight_decay,
                adam: None,
            };
            let hyper = Hyper {
                optimizer,
                batch_shift: 2,
            };
            let mut params = Params::initial(&net, 1, FixedPoint::default()).expect("params");
            let mut moments = hyper.initial_moments(&params);
            let (mut want, mut buf) = (flat(&params), vec![0.0; flat(&params).len()]);
            for t in 0..4 {
                let g = gradient(&net, &params, t).await;
                let (x, y) = batch(t);
                let weights = (&mut params, moments.as_mut_slice());
                train_step(&mut float(), &net, weights, (x, &y), hyper.rule(t), false)
                    .await
                    .expect("a step");
                for i in 0..want.len() {
                    let mut d = g[i] + weight_decay * want[i];
                    if momentum > 0.0 {
                        buf[i] = momentum * buf[i] + d;
                        d = match nesterov {
                            true => d + momentum * buf[i],
                            false => buf[i],
                        };
                    }
                    want[i] -= optimizer.rate(t) * d;
                }
                for (got, want) in flat(&params).iter().zip(&want) {
                    assert!(
                        (got - want).abs() < 1e-12,
                        "{optimizer}, step {t}: {got} {want}"
                    );
                }
            }
        }
    }

    /// Four steps of Adam against `torch.optim.Adam`'s update written out on the same
    /// gradients (raw moments, bias corrections, L2 decay, the warmed-up rate), with the
    /// denominator `sqrt(v̂ + ε²)` ([`super::adam`]): within the inverse square root's bound of
    /// each step.
    #[tokio::test]
    async fn steps_as_pytorch_adam_does() {
        let net = tiny();
        let adam = Adam {
            eps: 1.0 / 256.0,
            ..Adam::default()
        };
        let optimizer = Optimizer {
            lr: 0.01,
            warmup: 2,
            weight_decay: 0.01,
            adam: Some(adam),
            ..Optimizer::sgd(0)
        };
        let hyper = Hyper {
            optimizer,
            batch_shift: 2,
        };
        let mut params = Params::initial(&net, 1, FixedPoint::default()).expect("params");
        let mut moments = hyper.initial_moments(&params);
        assert_eq!(moments.len(), 2);
        let n = flat(&params).len();
        let (mut want, mut m, mut v) = (flat(&params), vec![0.0; n], vec![0.0; n]);
        let mut tolerance = vec![1e-12; n];
        for t in 0..4 {
            let g = gradient(&net, &params, t).await;
            let (x, y) = batch(t);
            let weights = (&mut params, moments.as_mut_slice());
            train_step(&mut float(), &net, weights, (x, &y), hyper.rule(t), false)
                .await
                .expect("a step");
            let power = (t + 1) as i32;
            for i in 0..n {
                let d = g[i] + optimizer.weight_decay * want[i];
                m[i] = adam.beta1 * m[i] + (1.0 - adam.beta1) * d;
                v[i] = adam.beta2 * v[i] + (1.0 - adam.beta2) * d * d;
                let m_hat = m[i] / (1.0 - adam.beta1.powi(power));
                let v_hat = v[i] / (1.0 - adam.beta2.powi(power));
                let step = optimizer.rate(t) * m_hat / (v_hat + adam.eps * adam.eps).sqrt();
                want[i] -= step;
                tolerance[i] += step.abs() * super::adam::TARGET;
            }
            for ((got, want), tolerance) in flat(&params).iter().zip(&want).zip(&tolerance) {
                assert!(
                    (got - want).abs() <= *tolerance,
                    "{optimizer}, step {t}: {got} {want}"
                );
            }
        }
    }

    #[test]
    fn rates_follow_the_schedule_and_the_warm_up() {
        let step = Optimizer {
            lr: 0.1,
            schedule: Schedule::Step {
                every: 3,
                gamma: 0.5,
            },
            ..Optimizer::sgd(0)
        };
        let rates: Vec<f64> = (0..7).map(|t| step.rate(t)).collect();
        assert_eq!(rates, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
        let cosine = Optimizer {
            lr: 0.2,
            schedule: Schedule::Cosine { total: 4 },
            warmup: 2,
            ..Optimizer::sgd(0)
        };
        let want = [
            0.1 * 1.0,
            0.2 * 0.853_553_390_593_273_8,
            0.2 * 0.5,
            0.2 * 0.146_446_609_406_726_24,
        ];
        for (t, want) in want.iter().enumerate() {
            assert!((cosine.rate(t as u64) - want).abs() < 1e-15, "step {t}");
        }
        // Past its end a cosine stays at 0.
        assert_eq!(cosine.rate(9), 0.0);
    }

    #[test]
    fn only_plain_power_of_two_sgd_folds_into_the_truncation() {
        assert_eq!(Optimizer::sgd(7).rule(0, 7), Rule::Shift(14));
        assert_eq!(Optimizer::sgd(7).truncations_per_parameter(), Some(0));
        let odd = Optimizer {
            lr: 0.1,
            ..Optimizer::sgd(0)
        };
        assert!(matches!(odd.rule(0, 7), Rule::Sgd { batch_shift: 7, .. }));
        let all = Optimizer {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
            ..Optimizer::sgd(3)
        };
        assert_eq!(odd.truncations_per_parameter(), Some(1));
        assert_eq!(all.truncations_per_parameter(), Some(4));
    }

    /// The plan counts what the step takes: one daBit per parameter for each truncation the
    /// optimizer adds, nothing else.
    #[test]
    fn the_demand_grows_by_the_optimizers_truncations() {
        let net = Network::by_name("net-a").expect("net-a");
        let config = (FixedPoint::default(), Comparison::default(), Exp::default());
        let parameters = (784 * 128 + 128) + (128 * 128 + 128) + (128 * 10 + 10);
        let demand = |o: Optimizer| net.training_demand(128, false, &o, config).expect("demand");
        let plain = demand(Optimizer::sgd(7));
        for o in [
            Optimizer {
                lr: 0.1,
                ..Optimizer::sgd(0)
            },
            Optimizer {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 5e-4,
                ..Optimizer::sgd(7)
            },
        ] {
            let more = demand(o);
            let extra = (o.truncations_per_parameter().expect("SGD") * parameters) as u64;
            assert_eq!(more.0[&Kind::DaBit], plain.0[&Kind::DaBit] + extra, "{o}");
            let mut rest = more.clone();
            rest.0.insert(Kind::DaBit, plain.0[&Kind::DaBit]);
            assert_eq!(rest, plain, "{o}: only daBits change");
        }
    }

    /// A momentum close to 1 keeps `1 - mu` to 16 significant bits: `x·mu` is off by at most
    /// `2^-16` of `x·(1 - mu)`, where the plain factor for 0.999 (65,470 / 2^16) is off by
    /// 7e-6 of `x`, a thousand times more.
    #[tokio::test]
    async fn momenta_close_to_one_keep_their_precision() {
        let fixed = FixedPoint::default();
        let mut plain = crate::nn::PlainFixed::new(fixed);
        let units = (1u64 << 36) as f64;
        let x = ArrayD::from_elem(IxDyn(&[1]), crate::Z64::from_signed(1 << 36));
        for mu in [0.6, 0.9, 0.99, 0.999, 0.9999] {
            let got = times(&mut plain, &x, mu).await.expect("scaled")[0].signed() as f64;
            let error = (got - units * mu).abs();
            assert!(
                error <= units * (1.0 - mu) / 65536.0 + 1.0,
                "{mu}: off by {error}"
            );
            let factor = (mu * 65536.0).round() / 65536.0;
            if mu > 0.99 {
                assert!(
                    error * 100.0 < units * (factor - mu).abs(),
                    "{mu}: off by {error}"
                );
            }
        }
    }

    /// Public factors keep `f` significant bits however small (a rate of 0.01, a decay of
    /// 5e-4), powers of two are exact, and the scaled value never outgrows its input.
    #[test]
    fn public_factors_keep_their_precision() {
        let fixed = FixedPoint::default();
        let factor = |c: f64| crate::nn::backend::public_factor(fixed, c).expect("in range");
        assert_eq!(factor(1.0), (crate::Z64(1 << 16), 16));
        assert_eq!(factor(0.0), (crate::Z64(0), 16));
        assert_eq!(factor(0.25), (crate::Z64(1 << 16), 18));
        for c in [0.9, 0.1, 0.01, -0.3, 5e-4, 1e-6, 1.0 / 49.0] {
            let (int, bits) = factor(c);
            let value = int.signed() as f64 / 2f64.powi(bits as i32);
            assert!(((value - c) / c).abs() <= 2f64.powi(-16), "{c}: {value}");
            assert!(int.signed().unsigned_abs() <= 1 << 16, "{c}");
            assert!(bits <= crate::fixed::K - 2);
        }
        for c in [1.5, -1.01, f64::NAN, f64::INFINITY] {
            assert!(crate::nn::backend::public_factor(fixed, c).is_err(), "{c}");
        }
    }
}
