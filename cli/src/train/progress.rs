//! The progress display of a training job (`dyad train`'s own, and the demo's of the job it
//! runs): steps, rate, ETA and the caller's details (how many steps the stockpile holds,
//! from `dyad_server::training::StockMonitor`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// A progress display on standard error. On a terminal it is a live `indicatif` bar; a log
/// file or a pipe instead gets a plain line every [`EVERY`] and at the last step, because a
/// redrawn bar would fill a log with control sequences.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    first: u64,
    started: Instant,
    last: Option<Instant>,
    /// The step last shown, so a log does not get the same line twice.
    shown: Option<u64>,
}

/// How often a non-terminal gets a line.
const EVERY: Duration = Duration::from_secs(30);

impl Progress {
    /// A display for steps `first..total` (a resumed job starts past 0; its rate counts only
    /// the steps of this run).
    pub fn new(first: u64, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            // Two lines, the second cut to the terminal's width: one would wrap on 80 columns.
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:28.cyan/blue}] {pos}/{len} steps  {prefix}\n  {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = ProgressBar::new(total)
                .with_style(style)
                .with_position(first);
            // Redraws the clock while a step waits for the stockpile.
            bar.enable_steady_tick(Duration::from_secs(1));
            bar
        });
        Progress {
            bar,
            total,
            first,
            started: Instant::now(),
            last: None,
            shown: None,
        }
    }

    /// Shows that `step` steps are done, with the online rate, the ETA and `detail` (what else
    /// the caller tracks: epoch, accuracy, stock).
    pub fn update(&mut self, step: u64, detail: &str) {
        let done = step.saturating_sub(self.first);
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let eta = match rate > 0.0 {
            true => clock(self.total.saturating_sub(step) as f64 / rate),
            false => "?".into(),
        };
        let speed = format!("online {rate:.2} steps/s  ETA {eta}");
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            bar.set_prefix(speed);
            bar.set_message(detail.to_owned());
            return;
        }
        let now = Instant::now();
        let due = self.last.is_none_or(|t| now - t >= EVERY) || step == self.total;
        if due && self.shown != Some(step) {
            self.last = Some(now);
            self.shown = Some(step);
            eprintln!("step {step}/{}  {speed}  {detail}", self.total);
        }
    }

    /// Prints a message on its own line (above the bar on a terminal).
    pub fn say(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Drop for Progress {
    /// Stops redrawing and leaves the bar's last state on the terminal, so whatever is
    /// printed next (the summary, an error) starts on a line of its own.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

/// `h:mm:ss` or `m:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s >= 3600 {
        true => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
        false => format!("{}:{:02}", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_naturally() {
        assert_eq!(clock(59.6), "1:00");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(-3.0), "0:00");
    }
}
