//! The pure run state machine (DESIGN.md, "Run semantics").
//!
//! A [`RunState`] is a fold over a run's journal: [`RunState::apply`] takes one [`Event`], refuses
//! it if it is illegal in the current state (leaving the state untouched), and returns the
//! [`Action`]s the runtime must perform next. The engine performs no I/O and reads no clock; the
//! runtime (`aine-runtime`) performs the actions and feeds their results back as events.
//!
//! Steps run one after another in file order. A step that ends `ok`, `fallback` or `unsure` lets
//! the run go on; `violation` or `failed` ends it `failed`. The elements of a `for_each` step end
//! one by one (`ElementFinished`) while the step runs; they are kept across attempts, so a
//! resumed step knows which elements are done. A gate is evaluated (its `when` condition), then
//! either passed or opened; an open gate suspends the run until its owner approves, edits or
//! rejects.

mod plan;
mod state;

pub use plan::{Plan, PlanStep, PlanStepKind};
pub use state::{Action, ElementDone, EngineError, Phase, RunState, StepState};
