//! The `medfm-robust` binary: argument parsing, progress bars, exit codes (src/cli/). The
//! library (`medfm_robust`) holds no CLI code.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
