//! Progress bars (indicatif) on stderr; hidden with --quiet or when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn bar(quiet: bool, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(0);
    if quiet {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb
}

/// A callback for [`medfm_robust::generate::generate`] that drives `pb`.
pub fn callback(pb: &ProgressBar) -> impl Fn(usize, usize) + Sync + '_ {
    move |done, total| {
        if pb.length() != Some(total as u64) {
            pb.set_length(total as u64);
        }
        pb.set_position(done as u64);
    }
}
