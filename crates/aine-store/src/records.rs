//! The rows the store hands out, and the decoding of them.

use std::path::Path;
use std::str::FromStr;

use aine_types::{GateId, PersonId, RoleName, RunId, RunStatus, StepId};
use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Error, Result};

/// A run to create: what [`Store::create_run`](crate::Store::create_run) needs besides its
/// first events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub id: RunId,
    /// The workflow's name (`workflow:` in the file).
    pub workflow: String,
    /// Where the workflow file was read from, as given by the user.
    pub workflow_path: String,
    /// The workflow file's text, so that a resume runs exactly what started.
    pub workflow_source: String,
}

/// A run as projected from its journal (the `runs` table). The workflow's text is fetched on
/// its own with [`Store::workflow_source`](crate::Store::workflow_source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub workflow: String,
    pub workflow_path: String,
    pub status: RunStatus,
    /// The open gate the run waits on; `Some` exactly when `status` is `waiting`.
    pub waiting_gate: Option<GateId>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Milliseconds since the Unix epoch: the `at_ms` of the last append.
    pub updated_at_ms: i64,
    /// The seq of the last journaled event (0 for a run created without events); the next
    /// append must pass `last_seq + 1` as its `expected_seq`.
    pub last_seq: u64,
}

/// Whether a gate still waits for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    Open,
    Decided,
}

impl GateStatus {
    /// The status as stored and printed: `open` or `decided`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateStatus::Open => "open",
            GateStatus::Decided => "decided",
        }
    }

    /// Parses the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        [GateStatus::Open, GateStatus::Decided]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

impl std::fmt::Display for GateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gate as projected from `GateOpened` and `GateDecided` events (the `gates` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateRecord {
    pub id: GateId,
    pub run: RunId,
    /// The gate step's id in the workflow.
    pub step: StepId,
    /// The role whose people may decide the gate.
    pub owner_role: RoleName,
    pub status: GateStatus,
    /// Milliseconds since the Unix epoch.
    pub opened_at_ms: i64,
    /// Milliseconds since the Unix epoch; `Some` once decided.
    pub decided_at_ms: Option<i64>,
    pub decided_by: Option<PersonId>,
    /// The decision's kind (`approve`, `reject` or `edit`, see
    /// [`Decision::kind`](aine_types::Decision::kind)); an edit's output is in the journal.
    pub decision: Option<String>,
    /// Why the person decided so.
    pub reason: Option<String>,
}

/// Which runs [`Store::runs`](crate::Store::runs) lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs with this status; all when `None`.
    pub status: Option<RunStatus>,
    /// At most this many runs (the newest); all when `None`.
    pub limit: Option<u32>,
}

/// The columns of `runs` a [`RunRecord`] is decoded from, in [`run_from_row`]'s order.
pub(crate) const RUN_COLUMNS: &str = "runs.id, runs.workflow, runs.workflow_path, runs.status, \
     runs.waiting_gate, runs.created_at_ms, runs.updated_at_ms, runs.last_seq";

/// Decodes columns `0..8` of `row`, laid out as [`RUN_COLUMNS`].
pub(crate) fn run_from_row(path: &Path, row: &SqliteRow) -> Result<RunRecord> {
    let id: &str = get(path, row, 0)?;
    let what = || format!("run `{id}`");
    let status: &str = get(path, row, 3)?;
    let last_seq: i64 = get(path, row, 7)?;
    Ok(RunRecord {
        id: parse(path, &what, id)?,
        workflow: get(path, row, 1)?,
        workflow_path: get(path, row, 2)?,
        status: RunStatus::parse(status)
            .ok_or_else(|| decode_error(path, what(), format!("unknown status `{status}`")))?,
        waiting_gate: get::<Option<&str>>(path, row, 4)?
            .map(|gate| parse(path, &what, gate))
            .transpose()?,
        created_at_ms: get(path, row, 5)?,
        updated_at_ms: get(path, row, 6)?,
        last_seq: u64::try_from(last_seq)
            .map_err(|_| decode_error(path, what(), format!("negative last_seq {last_seq}")))?,
    })
}

/// The columns of `gates` a [`GateRecord`] is decoded from, in [`gate_from_row`]'s order.
pub(crate) const GATE_COLUMNS: &str = "id, run_id, step, owner_role, status, opened_at_ms, \
     decided_at_ms, decided_by, decision, reason";

/// Decodes a row laid out as [`GATE_COLUMNS`].
pub(crate) fn gate_from_row(path: &Path, row: &SqliteRow) -> Result<GateRecord> {
    let id: &str = get(path, row, 0)?;
    let what = || format!("gate `{id}`");
    let status: &str = get(path, row, 4)?;
    Ok(GateRecord {
        id: parse(path, &what, id)?,
        run: parse(path, &what, get(path, row, 1)?)?,
        step: parse(path, &what, get(path, row, 2)?)?,
        owner_role: parse(path, &what, get(path, row, 3)?)?,
        status: GateStatus::parse(status)
            .ok_or_else(|| decode_error(path, what(), format!("unknown status `{status}`")))?,
        opened_at_ms: get(path, row, 5)?,
        decided_at_ms: get(path, row, 6)?,
        decided_by: get::<Option<&str>>(path, row, 7)?
            .map(|person| parse(path, &what, person))
            .transpose()?,
        decision: get(path, row, 8)?,
        reason: get(path, row, 9)?,
    })
}

/// Column `index` of `row`, or a decode error naming the column.
pub(crate) fn get<'r, T>(path: &Path, row: &'r SqliteRow, index: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(index).map_err(|err| Error::Decode {
        path: path.to_owned(),
        what: format!("column {index} of a row"),
        detail: err.to_string(),
    })
}

/// Parses a stored id or name, or a decode error saying what it belonged to.
fn parse<T>(path: &Path, what: &dyn Fn() -> String, text: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|err: T::Err| decode_error(path, what(), err.to_string()))
}

pub(crate) fn decode_error(path: &Path, what: String, detail: String) -> Error {
    Error::Decode {
        path: path.to_owned(),
        what,
        detail,
    }
}
