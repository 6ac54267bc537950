//! The exit codes of every subcommand, in one table (README "Exit codes", `--help`).

/// Every unit (item) succeeded.
pub const OK: i32 = 0;
/// Usage, config or setup error before any work was done (nothing written, or only the
/// validation report).
pub const SETUP: i32 = 1;
/// The command finished but some units failed (or, for `report`, the run is incomplete); the
/// records say which and why. Nothing already done is lost: rerun to retry.
pub const UNITS_FAILED: i32 = 2;
/// `merge`: units of the plan have no record in any input (listed in missing_units.txt).
pub const MISSING: i32 = 4;

/// The table as printed after `--help`.
pub const TABLE: &str = "Exit codes (every subcommand):
  0  every unit succeeded
  1  usage, config or setup error before any work
  2  the command finished but some units failed (records say which); report: the run is incomplete
  4  merge: units of the plan are missing";
