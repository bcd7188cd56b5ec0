//! Vocabulary shared by every aine crate: typed ids, step outcomes, gate decisions and the
//! journal events a run is folded from (see `DESIGN.md`, "Words" and "Run semantics").
//!
//! This crate performs no I/O and reads no clock: timestamps arrive as plain numbers
//! (milliseconds since the Unix epoch) from whoever journals an event.

mod event;
mod ids;
mod money;
mod outcome;

pub use event::{
    CallResult, ChangeKind, Decision, Event, ItemChange, JournalEntry, RunStatus, UnknownStatus,
};
pub use ids::{GateId, IdError, PersonId, RoleName, RunId, StepId};
pub use money::{Spend, Usd};
pub use outcome::Outcome;
pub use rust_decimal::Decimal;
