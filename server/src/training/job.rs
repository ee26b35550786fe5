//! What both servers' training jobs must agree on, and the check that they do: before any
//! randomness is taken, each side sends its job description and refuses to start, naming every
//! difference, if the peer's is not the same.

use dyad_link::{Channel, PartyLink, Terms};
use dyad_online::model::ModelError;
use dyad_online::model::Network;
use dyad_online::nn::{Hyper, Init, Optimizer, Params, Schedule};
use dyad_online::protocols::{Comparison, Exp};
use dyad_online::{Config, FixedPoint};
use dyad_randomness::Demand;

use super::TrainingError;

/// The evaluation field of a job without `--eval-every`, which its description leaves out.
const EVALUATION_UNSTATED: &str = "at epoch ends";

/// The optimizer field of a job trained by plain SGD, which its description leaves out.
const OPTIMIZER_UNSTATED: &str = "plain SGD";

/// A learning rate as a job states it: `2^-s` for a power of two (as before other rates were
/// possible), the number otherwise.
fn learning_rate(o: &Optimizer) -> String {
    match o.lr_shift() {
        Some(s) => format!("2^-{s}"),
        None => o.lr.to_string(),
    }
}

/// The optimizer's settings besides the rate, as a job states them.
fn optimizer_terms(o: &Optimizer) -> String {
    match o.settings() {
        set if set.is_empty() => OPTIMIZER_UNSTATED.into(),
        set => set,
    }
}

/// A training job, as both servers must see it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The network.
    pub network: Network,
    /// Examples per SGD step (a power of two).
    pub batch: usize,
    /// How gradients become updates: the learning rate, its schedule, momentum, weight decay.
    pub optimizer: Optimizer,
    /// Passes over the training set.
    pub epochs: usize,
    /// Also evaluate the test set after every this many SGD steps (counted from the start
    /// of the job), besides at the end of each epoch; `None`: at epoch ends only.
    pub eval_every: Option<u64>,
    /// Seeds the (public) initial weights and the batch order.
    pub seed: u64,
    /// How the initial weights are drawn.
    pub init: Init,
    /// Whether to reveal the mean training loss of each epoch.
    pub loss: bool,
    /// The fixed-point encoding.
    pub fixed: FixedPoint,
    /// The comparison's CheckZero variant and prime.
    pub comparison: Comparison,
    /// How softmax computes `e^x`.
    pub exp: Exp,
    /// The dataset's id (hex), as the data owner's `dyad share` chose it; for datasets owners
    /// uploaded, their names, ids, sizes and both shares' digests
    /// ([`crate::dataset_store::Union::agreement`]).
    pub dataset: String,
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
}

impl Job {
    /// Checks that the job can run.
    pub fn validate(&self) -> Result<(), TrainingError> {
        if !self.batch.is_power_of_two() {
            return Err(TrainingError::InvalidJob(format!(
                "the batch size must be a power of two, got {}",
                self.batch
            )));
        }
        if self.batch > self.train {
            return Err(TrainingError::InvalidJob(format!(
                "a batch of {} needs at least that many training examples, there are {}",
                self.batch, self.train
            )));
        }
        if self.test == 0 {
            return Err(TrainingError::InvalidJob(
                "the dataset has no test examples; each epoch ends with the test accuracy".into(),
            ));
        }
        if self.epochs == 0 {
            return Err(TrainingError::InvalidJob(
                "--epochs must be at least 1".into(),
            ));
        }
        if self.eval_every == Some(0) {
            return Err(TrainingError::InvalidJob(
                "--eval-every must be at least 1 step".into(),
            ));
        }
        self.optimizer
            .validate(self.fixed)
            .map_err(|e| TrainingError::InvalidJob(e.to_string()))?;
        // A step scales the summed bias gradients down by `log2(batch)` bits, and with a
        // power-of-two rate `2^-s` alone by `s` more; the weight gradients by `f` more still.
        // A truncation takes at most `k - 2` bits, and a public factor below `2^-(k-2-f)`
        // would round to 0 (`Backend::scale`).
        let shift = self.hyper().rule(0).gradient_shift();
        let most = dyad_online::fixed::K - 2;
        if self.fixed.f + shift > most {
            return Err(TrainingError::InvalidJob(format!(
                "a learning rate of {} with batches of {} scales the gradients by 2^-{shift}; \
                 with {} fractional bits a truncation takes at most {} bits",
                self.optimizer.lr,
                self.batch,
                self.fixed.f,
                most - self.fixed.f
            )));
        }
        let smallest = 0.5f64.powi((most - self.fixed.f) as i32);
        if self.optimizer.power_of_two_shift().is_none() && self.optimizer.lr < smallest {
            return Err(TrainingError::InvalidJob(format!(
                "a learning rate of {} is below 2^-{}, the smallest factor {} fractional bits \
                 carry",
                self.optimizer.lr,
                most - self.fixed.f,
                self.fixed.f
            )));
        }
        if self.optimizer.warmup > self.total_steps() {
            return Err(TrainingError::InvalidJob(format!(
                "a warm-up of {} steps in a job of {} steps",
                self.optimizer.warmup,
                self.total_steps()
            )));
        }
        if let Schedule::Cosine { total } = self.optimizer.schedule
            && total != self.total_steps()
        {
            return Err(TrainingError::InvalidJob(format!(
                "a cosine schedule over {total} steps in a job of {} steps",
                self.total_steps()
            )));
        }
        self.network.shapes()?;
        Ok(())
    }

    /// SGD steps per epoch (a last partial batch is left out).
    pub fn steps_per_epoch(&self) -> u64 {
        (self.train / self.batch) as u64
    }

    /// SGD steps of the whole job.
    pub fn total_steps(&self) -> u64 {
        self.steps_per_epoch() * self.epochs as u64
    }

    /// The public initial parameters, drawn by [`Job::init`] from [`Job::seed`].
    pub fn initial_params(&self) -> Result<Params<f64>, ModelError> {
        Params::initial_by(&self.network, self.seed, self.fixed, self.init)
    }

    /// The optimizer and the batch's shift.
    pub fn hyper(&self) -> Hyper {
        Hyper {
            optimizer: self.optimizer,
            batch_shift: self.batch.trailing_zeros(),
        }
    }

    /// What one SGD step consumes.
    pub fn step_demand(&self) -> Result<Demand, TrainingError> {
        Ok(self.network.training_demand(
            self.batch,
            self.loss,
            &self.optimizer,
            (self.fixed, self.comparison, self.exp),
        )?)
    }

    /// The online configuration both servers run the job with.
    pub fn config(&self) -> Config {
        Config {
            fixed: self.fixed,
            checkzero: self.comparison.checkzero,
            prime: self.comparison.prime,
            exp: self.exp,
        }
    }

    /// The steps after which the test set is evaluated, ascending: the end of each epoch and,
    /// with [`Job::eval_every`], every multiple of it, once where both fall on the same step.
    /// The runner evaluates exactly at these and [`Job::demand`] stocks exactly these, so the
    /// two cannot disagree.
    pub fn evaluation_steps(&self) -> Vec<u64> {
        let per_epoch = self.steps_per_epoch();
        (1..=self.total_steps())
            .filter(|s| {
                s.is_multiple_of(per_epoch) || self.eval_every.is_some_and(|n| s.is_multiple_of(n))
            })
            .collect()
    }

    /// What the whole job consumes: its steps and its evaluations (each the test set in
    /// batches of the training batch size, the last one padded).
    pub fn demand(&self) -> Result<Demand, TrainingError> {
        let evaluation = self
            .network
            .evaluation_demand(self.batch, self.comparison)?;
        let batches = self.test.div_ceil(self.batch) as u64;
        let evaluations = self.evaluation_steps().len() as u64;
        Ok(self.step_demand()? * self.total_steps() + evaluation * (batches * evaluations))
    }

    /// What the whole job consumes and then `requests` served requests on the trained model
    /// (`dyad serve` with the job's comparison): the plan of a deployment that trains, then
    /// serves.
    pub fn demand_with_serving(&self, requests: u64) -> Result<Demand, TrainingError> {
        let served = self.network.serving_demand(requests, self.comparison)?;
        Ok(self.demand()? + served)
    }

    /// The fields both sides compare, by name.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let layers: Vec<String> = self
            .network
            .to_string()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        let evaluation = match self.eval_every {
            Some(n) => format!("every {n} steps and at epoch ends"),
            None => EVALUATION_UNSTATED.into(),
        };
        vec![
            ("model", layers.join("; ")),
            ("batch size", self.batch.to_string()),
            ("learning rate", learning_rate(&self.optimizer)),
            ("optimizer", optimizer_terms(&self.optimizer)),
            ("epochs", self.epochs.to_string()),
            ("evaluation", evaluation),
            ("seed", self.seed.to_string()),
            ("initialisation", self.init.to_string()),
            ("loss reveal", self.loss.to_string()),
            ("fixed point", format!("f = {}", self.fixed.f)),
            ("checkzero", self.comparison.checkzero.to_string()),
            ("comparison prime", self.comparison.prime.to_string()),
            ("exp", self.exp.to_string()),
            ("dataset", self.dataset.clone()),
            ("training examples", self.train.to_string()),
            ("test examples", self.test.to_string()),
        ]
    }

    /// The description sent to the peer: one `name=value` per line, leaving out an evaluation
    /// at epoch ends only, plain SGD and He initialisation (so a job without `--eval-every`, an
    /// optimizer option or `--init`
    /// describes and fingerprints itself as before the options existed, and one running
    /// across an upgrade resumes).
    pub fn encode(&self) -> String {
        self.fields()
            .iter()
            .filter(|(k, v)| !(*k == "evaluation" && v == EVALUATION_UNSTATED))
            .filter(|(k, v)| !(*k == "optimizer" && v == OPTIMIZER_UNSTATED))
            .filter(|(k, v)| !(*k == "initialisation" && *v == Init::He.to_string()))
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }

    /// Identifies the job (checkpoints of another job are not resumed).
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a: stable across builds and platforms.
        self.encode().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The terms both servers must agree on: every field of the description.
    pub fn terms(&self) -> Terms {
        self.fields()
            .into_iter()
            .fold(Terms::new(), |terms, (name, value)| terms.term(name, value))
    }
}

/// Sends our job description and checks the peer's; fails, naming the differences, if they
/// are not the same job. Returns the channel for the rest of the start-up talk.
pub async fn agree(link: &mut PartyLink, job: &Job) -> Result<Channel, TrainingError> {
    let mut channel = link.channel().await?;
    channel.agree(&job.terms()).await?;
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn job() -> Job {
        Job {
            network: Network::by_name("net-a").expect("known"),
            batch: 128,
            optimizer: Optimizer::sgd(7),
            epochs: 2,
            eval_every: None,
            seed: 1,
            init: Init::He,
            loss: false,
            fixed: FixedPoint::default(),
            comparison: Comparison::default(),
            exp: Exp::default(),
            dataset: "00ff".into(),
            train: 4000,
            test: 1000,
        }
    }

    /// How `theirs` differs from `mine`, as `mine`'s server would say.
    fn differences(mine: &Job, theirs: &Job) -> Vec<String> {
        let theirs = Terms::decode(&theirs.terms().encode()).expect("reads");
        let d = mine.terms().differences(&theirs);
        d.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn names_every_difference() {
        let mine = job();
        assert!(differences(&mine, &mine).is_empty());
        let theirs = Job {
            network: Network::by_name("net-b").expect("known"),
            batch: 64,
            train: 3999,
            ..job()
        };
        let d = differences(&mine, &theirs);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[1].contains("batch size: this server has `128`, the peer `64`"));
        assert!(d[2].contains("training examples"));
        assert_ne!(mine.fingerprint(), theirs.fingerprint());
        // The model is compared by its layers, not its name.
        let renamed = Job {
            network: Network {
                name: "mine".into(),
                ..job().network
            },
            ..job()
        };
        assert!(differences(&mine, &renamed).is_empty());
    }

    #[test]
    fn refuses_jobs_that_cannot_run() {
        assert!(job().validate().is_ok());
        assert!(
            Job {
                batch: 100,
                ..job()
            }
            .validate()
            .is_err()
        );
        assert!(Job { test: 0, ..job() }.validate().is_err());
        assert!(Job { train: 64, ..job() }.validate().is_err());
        assert_eq!(job().steps_per_epoch(), 31);
        assert_eq!(job().total_steps(), 62);
        assert!(
            Job {
                eval_every: Some(0),
                ..job()
            }
            .validate()
            .is_err()
        );
        // Learning rates whose SGD step no truncation can make.
        let with = |lr_shift, batch| Job {
            optimizer: Optimizer::sgd(lr_shift),
            batch,
            ..job()
        };
        assert!(with(0, 1).validate().is_ok());
        assert!(with(1, 1).validate().is_ok());
        assert!(with(37, 128).validate().is_ok());
        assert!(with(38, 128).validate().is_err());
    }

    #[test]
    fn states_the_optimizer_only_when_it_is_not_plain_sgd() {
        let plain = job();
        // As before optimizers existed: the same description, so the same fingerprint.
        assert!(plain.encode().contains("learning rate=2^-7\n"));
        assert!(!plain.encode().contains("optimizer"));
        assert!(!plain.encode().contains("initialisation"));
        let pytorch = Job {
            init: Init::PyTorch,
            ..job()
        };
        assert!(pytorch.encode().contains("initialisation=pytorch\n"));
        assert_eq!(differences(&plain, &pytorch).len(), 1);
        let momentum = Job {
            optimizer: Optimizer {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 5e-4,
                schedule: Schedule::Cosine { total: 62 },
                warmup: 5,
                adam: None,
            },
            ..job()
        };
        assert!(momentum.validate().is_ok());
        let stated = momentum.encode();
        assert!(stated.contains("learning rate=0.05\n"), "{stated}");
        assert!(
            stated.contains(
                "optimizer=momentum=0.9 nesterov weight_decay=0.0005 schedule=cosine:62 warmup=5\n"
            ),
            "{stated}"
        );
        let d = differences(&plain, &momentum);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[1].starts_with("optimizer: this server has `plain SGD`"),
            "{d:?}"
        );
        assert_ne!(plain.fingerprint(), momentum.fingerprint());
        // Each setting out of range, and a cosine over another number of steps, is refused.
        let refused = |o: Optimizer| {
            Job {
                optimizer: o,
                ..job()
            }
            .validate()
            .is_err()
        };
        let base = momentum.optimizer;
        assert!(refused(Optimizer { lr: 1.5, ..base }));
        assert!(refused(Optimizer { lr: 0.0, ..base }));
        assert!(refused(Optimizer {
            momentum: 1.0,
            ..base
        }));
        assert!(refused(Optimizer {
            weight_decay: -0.1,
            ..base
        }));
        assert!(refused(Optimizer {
            momentum: 0.0,
            ..base
        }));
        assert!(refused(Optimizer {
            schedule: Schedule::Cosine { total: 61 },
            ..base
        }));
        assert!(refused(Optimizer {
            schedule: Schedule::Step {
                every: 0,
                gamma: 0.5
            },
            ..base
        }));
        // Adam: stated as such, without momentum, and with an eps the fixed point resolves.
        let adam = Optimizer {
            momentum: 0.0,
            nesterov: false,
            adam: Some(dyad_online::nn::Adam::default()),
            ..base
        };
        let adam_job = Job {
            optimizer: adam,
            ..job()
        };
        assert!(adam_job.validate().is_ok());
        assert!(
            adam_job
                .encode()
                .contains("optimizer=adam beta1=0.9 beta2=0.999 eps=0.0009765625 "),
            "{}",
            adam_job.encode()
        );
        assert_ne!(adam_job.fingerprint(), momentum.fingerprint());
        assert!(refused(Optimizer {
            momentum: 0.9,
            ..adam
        }));
        assert!(refused(Optimizer {
            adam: Some(dyad_online::nn::Adam {
                eps: 1e-8,
                ..dyad_online::nn::Adam::default()
            }),
            ..adam
        }));
    }

    #[test]
    fn evaluates_at_epoch_ends_and_every_n_steps_once_each() {
        assert_eq!(job().evaluation_steps(), vec![31, 62]);
        let every = |n| {
            Job {
                eval_every: Some(n),
                ..job()
            }
            .evaluation_steps()
        };
        assert_eq!(every(10), vec![10, 20, 30, 31, 40, 50, 60, 62]);
        // 31 is both an epoch end and a multiple: evaluated once.
        assert_eq!(every(31), vec![31, 62]);
        assert_eq!(every(100), vec![31, 62]);
        assert_eq!(every(1), (1..=62).collect::<Vec<_>>());
        // Another interval is another job.
        let mine = job();
        let theirs = Job {
            eval_every: Some(10),
            ..job()
        };
        let d = differences(&mine, &theirs);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("evaluation: this server has `at epoch ends`"));
        let d = differences(&theirs, &mine);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].ends_with("the peer `at epoch ends`"), "{d:?}");
        // Without the option, the description is what it was before the option existed.
        assert!(!mine.encode().contains("evaluation"));
        assert!(differences(&mine, &mine).is_empty());
    }

    #[test]
    fn demand_counts_every_evaluation() {
        let evaluation = |job: &Job| {
            job.network
                .evaluation_demand(job.batch, job.comparison)
                .expect("evaluation demand")
        };
        let base = job();
        let batches = base.test.div_ceil(base.batch) as u64; // 8
        let steps = base.step_demand().expect("step") * base.total_steps();
        assert_eq!(
            base.demand().expect("demand"),
            steps.clone() + evaluation(&base) * (2 * batches)
        );
        let frequent = Job {
            eval_every: Some(10),
            ..job()
        };
        assert_eq!(
            frequent.demand().expect("demand"),
            steps + evaluation(&frequent) * (8 * batches)
        );
    }
}
