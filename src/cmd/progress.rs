//! Spinners for long steps, shown only on a terminal.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner with a message; hidden when stderr is not a terminal.
pub(crate) struct Step {
    bar: ProgressBar,
    start: Instant,
}

impl Step {
    pub(crate) fn start(msg: &str) -> Self {
        let bar =
            if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.set_message(msg.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self { bar, start: Instant::now() }
    }

    /// Stops the spinner and returns the elapsed seconds.
    pub(crate) fn finish(self) -> f64 {
        self.bar.finish_and_clear();
        self.start.elapsed().as_secs_f64()
    }
}
