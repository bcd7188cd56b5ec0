//! Exit codes (documented in `aine --help`).

use aine_runtime::Error as RtError;

/// Success: the command did what was asked (a run that stops at a gate is a success).
pub const OK: u8 = 0;
/// An error not covered below (I/O, an internal inconsistency).
pub const ERROR: u8 = 1;
// 2 is bad command-line usage: clap exits with it itself.
/// A workflow, its inputs, or aine.toml is invalid.
pub const INVALID: u8 = 3;
/// The run ended `failed` or `rejected`.
pub const RUN_NOT_SUCCEEDED: u8 = 4;
/// Refused: not a gate's owner, unknown person, gate not open, run already finished, an edit
/// breaking its contract.
pub const REFUSED: u8 = 5;
/// The database is locked by another process, read-only, or not an aine database.
pub const DATABASE: u8 = 6;
/// A verification failed: the audit chain is broken or a published file changed.
pub const VERIFY_FAILED: u8 = 7;
/// `aine lint` found problems at or above `--fail-on`.
pub const LINT_FINDINGS: u8 = 8;

/// The text shown under `aine --help`.
pub const HELP: &str = "\
Exit codes:
  0  success (a run that stops at a gate is a success: see `aine review list`)
  1  error (I/O, internal inconsistency)
  2  bad command-line usage
  3  invalid workflow, inputs or aine.toml
  4  the run ended failed or rejected
  5  refused: unknown run, gate or spec item, not the gate's owner, unknown person, gate not open, run finished, edit breaks the contract or the review form has problems
  6  database locked by another process, read-only, or not an aine database
  7  verification failed: the audit chain is broken or a published file changed
  8  aine lint found problems at or above --fail-on (default: error)";

/// Maps an error chain to its exit code.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<RtError>() {
            return runtime_code(e);
        }
        if let Some(e) = cause.downcast_ref::<aine_store::Error>() {
            return store_code(e);
        }
        if let Some(e) = cause.downcast_ref::<aine_sdlc::trace::TraceError>() {
            return match e {
                aine_sdlc::trace::TraceError::UnknownItem { .. }
                | aine_sdlc::trace::TraceError::Removed { .. } => REFUSED,
                _ => ERROR,
            };
        }
        if cause
            .downcast_ref::<crate::review_cmd::FormRejected>()
            .is_some()
        {
            return REFUSED;
        }
        if cause.downcast_ref::<aine_workflow::LoadError>().is_some()
            || cause.downcast_ref::<aine_lint::LintError>().is_some()
            || cause
                .downcast_ref::<aine_runtime::config::ConfigError>()
                .is_some()
        {
            return INVALID;
        }
    }
    ERROR
}

fn runtime_code(e: &RtError) -> u8 {
    match e {
        RtError::Store(s) => store_code(s),
        RtError::Workflow(_)
        | RtError::Config(_)
        | RtError::Inputs(_)
        | RtError::PathRefused(_) => INVALID,
        RtError::RunFinished { .. }
        | RtError::RunWaiting { .. }
        | RtError::GateNotOpen { .. }
        | RtError::UnknownPerson { .. }
        | RtError::NotOwner { .. }
        | RtError::EditNotAllowed { .. }
        | RtError::EditRequired { .. }
        | RtError::EditBreaksContract { .. } => REFUSED,
        _ => ERROR,
    }
}

fn store_code(e: &aine_store::Error) -> u8 {
    use aine_store::Error as S;
    match e {
        S::Locked { .. } | S::ReadOnly { .. } | S::NotADatabase { .. } => DATABASE,
        S::UnknownRun(_) | S::UnknownGate(_) => REFUSED,
        _ => ERROR,
    }
}
