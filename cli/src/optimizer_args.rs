//! The optimizer options of `dyad train`, `dyad train-plain`, `dyad plan` and `dyad demo`:
//! PyTorch's SGD and Adam settings. Both servers must give them alike (they are part of the
//! job's agreement), and the plan must be made with them (momentum, weight decay and rates that
//! are not powers of two each add a truncation per parameter and step; Adam adds an inverse
//! square root per parameter and step, far more).

use anyhow::{Context, bail};
use dyad_online::FixedPoint;
use dyad_online::model::Network;
use dyad_online::nn::{Adam, Optimizer, Schedule};

/// How a training job updates its weights.
#[derive(clap::Args, Debug, Clone)]
pub struct OptimizerArgs {
    /// The learning rate is 2^-lr_shift (the default is the paper's, §7.4: 7 for Network-A,
    /// 5 for the others).
    #[arg(long, conflicts_with = "lr")]
    pub lr_shift: Option<u32>,
    /// The learning rate, any value in (0, 1] (instead of `--lr-shift`).
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum in [0, 1), as PyTorch's `momentum` (0.9 is usual; 0 is plain SGD).
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Nesterov's momentum (with `--momentum`).
    #[arg(long)]
    pub nesterov: bool,
    /// L2 weight decay in [0, 1), added to the gradients as PyTorch's `weight_decay`.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// How the learning rate changes: `constant`, `cosine` (half a cosine down to 0 over the
    /// job's steps) or `step:EVERY:GAMMA` (times GAMMA every EVERY steps).
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Steps of linear warm-up at the start.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Adam instead of SGD (PyTorch's `torch.optim.Adam`; its rate defaults to 0.001). Each
    /// step then also takes an inverse square root per parameter: about 17 comparisons and 14
    /// multiplications of offline randomness each (`dyad plan` counts them).
    #[arg(long, conflicts_with_all = ["momentum", "nesterov"])]
    pub adam: bool,
    /// Adam's first-moment decay.
    #[arg(long, default_value_t = Adam::default().beta1, requires = "adam")]
    pub beta1: f64,
    /// Adam's second-moment decay.
    #[arg(long, default_value_t = Adam::default().beta2, requires = "adam")]
    pub beta2: f64,
    /// Adam's eps, at least 2^-12 (the fixed point's 16 fractional bits do not resolve
    /// PyTorch's 1e-8); Adam divides by sqrt(v + eps^2).
    #[arg(long, default_value_t = Adam::default().eps, requires = "adam")]
    pub eps: f64,
}

/// PyTorch's default learning rate for Adam.
const ADAM_LR: f64 = 0.001;

impl Default for OptimizerArgs {
    /// The flags' defaults: the paper's plain SGD.
    fn default() -> OptimizerArgs {
        let adam = Adam::default();
        OptimizerArgs {
            lr_shift: None,
            lr: None,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            schedule: "constant".into(),
            warmup: 0,
            adam: false,
            beta1: adam.beta1,
            beta2: adam.beta2,
            eps: adam.eps,
        }
    }
}

impl OptimizerArgs {
    /// The optimizer for `network` over a job of `steps` steps (a cosine schedule spans them)
    /// in the fixed-point format `fixed`.
    pub fn optimizer(
        &self,
        network: &Network,
        steps: u64,
        fixed: FixedPoint,
    ) -> anyhow::Result<Optimizer> {
        let adam = self.adam.then_some(Adam {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        });
        let lr = match (self.lr, self.lr_shift, adam) {
            (Some(lr), _, _) => lr,
            (None, Some(shift), _) => 0.5f64.powi(shift as i32),
            (None, None, Some(_)) => ADAM_LR,
            (None, None, None) => 0.5f64.powi(network.paper_lr_shift() as i32),
        };
        let optimizer = Optimizer {
            lr,
            schedule: parse_schedule(&self.schedule, steps)?,
            warmup: self.warmup,
            momentum: self.momentum,
            nesterov: self.nesterov,
            weight_decay: self.weight_decay,
            adam,
        };
        optimizer.validate(fixed)?;
        Ok(optimizer)
    }
}

/// `--schedule`'s value for a job of `steps` steps.
fn parse_schedule(text: &str, steps: u64) -> anyhow::Result<Schedule> {
    let parts: Vec<&str> = text.split(':').collect();
    Ok(match parts.as_slice() {
        ["constant"] => Schedule::Constant,
        ["cosine"] => Schedule::Cosine { total: steps },
        ["step", every, gamma] => Schedule::Step {
            every: every
                .parse()
                .with_context(|| format!("--schedule {text}: steps between decays"))?,
            gamma: gamma
                .parse()
                .with_context(|| format!("--schedule {text}: the decay factor"))?,
        },
        _ => bail!("--schedule takes `constant`, `cosine` or `step:EVERY:GAMMA`, got `{text}`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_flags_give_back_the_optimizer() {
        let net = Network::by_name("net-a").expect("net-a");
        assert_eq!(
            parse_schedule("cosine", 62).ok(),
            Some(Schedule::Cosine { total: 62 })
        );
        assert_eq!(
            parse_schedule("step:10:0.5", 62).ok(),
            Some(Schedule::Step {
                every: 10,
                gamma: 0.5
            })
        );
        for bad in ["linear", "step:10", "step:x:0.5", "cosine:3"] {
            assert!(parse_schedule(bad, 62).is_err(), "{bad}");
        }
        let paper = OptimizerArgs::default()
            .optimizer(&net, 62, FixedPoint::default())
            .expect("ok");
        assert_eq!(paper, Optimizer::sgd(7));
        let args = OptimizerArgs {
            lr: Some(0.05),
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            schedule: "cosine".into(),
            warmup: 3,
            ..OptimizerArgs::default()
        };
        let optimizer = args.optimizer(&net, 62, FixedPoint::default()).expect("ok");
        let adam = OptimizerArgs {
            adam: true,
            beta2: 0.99,
            eps: 1.0 / 4096.0,
            schedule: "step:10:0.5".into(),
            ..OptimizerArgs::default()
        }
        .optimizer(&net, 62, FixedPoint::default())
        .expect("ok");
        assert_eq!(adam.lr, ADAM_LR);
        assert_eq!(
            adam.adam,
            Some(Adam {
                beta1: 0.9,
                beta2: 0.99,
                eps: 1.0 / 4096.0
            })
        );
        for o in [paper, optimizer, adam, Optimizer::sgd(2), Optimizer::sgd(0)] {
            use clap::Parser;
            #[derive(clap::Parser)]
            struct Cli {
                #[command(flatten)]
                o: OptimizerArgs,
            }
            let flags = dyad_orchestrate::command::optimizer_flags(&o);
            let parsed =
                Cli::try_parse_from(std::iter::once("x".to_string()).chain(flags)).expect("parses");
            assert_eq!(
                parsed
                    .o
                    .optimizer(&net, 62, FixedPoint::default())
                    .expect("ok"),
                o
            );
        }
        let refused = OptimizerArgs {
            nesterov: true,
            ..OptimizerArgs::default()
        };
        assert!(refused.optimizer(&net, 62, FixedPoint::default()).is_err());
        // Adam outside its inverse square root's ranges: refused before any plan is made.
        let tiny_eps = OptimizerArgs {
            adam: true,
            eps: 1e-8,
            ..OptimizerArgs::default()
        };
        assert!(tiny_eps.optimizer(&net, 62, FixedPoint::default()).is_err());
        let adam = OptimizerArgs {
            adam: true,
            ..OptimizerArgs::default()
        };
        let other = FixedPoint::new(20).expect("a format");
        assert!(adam.optimizer(&net, 62, other).is_err());
    }
}
