//! Text and JSON rendering, and the progress bar. Output is plain text (no colour codes, so
//! `NO_COLOR` is honoured by construction); the progress bar is drawn on stderr only when it is
//! a terminal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use aine_engine::Action;
use aine_runtime::{Observer, RunSummary, RunView};
use aine_types::{Event, JournalEntry, PersonId, RunId};
use aine_workflow::{LoadError, Workflow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};

/// Prints `value` as pretty JSON on stdout (never wrapped).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    out!("{}\n", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The column text output wraps at: [`DEFAULT_WIDTH`], or none with `--wide`.
static WIDTH: AtomicUsize = AtomicUsize::new(DEFAULT_WIDTH);

/// Text output fits this many columns unless `--wide` is given (issue 13: a terminal's width,
/// whatever the data).
pub const DEFAULT_WIDTH: usize = 100;

/// `--wide`: no wrapping or truncating of text output.
pub fn set_wide(wide: bool) {
    WIDTH.store(
        if wide { usize::MAX } else { DEFAULT_WIDTH },
        Ordering::Relaxed,
    );
}

/// The width text output fits (`usize::MAX` with `--wide`).
pub fn width() -> usize {
    WIDTH.load(Ordering::Relaxed)
}

/// `text` with every line wider than [`width`] wrapped at spaces (a word longer than a line is
/// broken); continuation lines are indented four columns deeper than their line.
pub fn fit(text: &str) -> String {
    let width = width();
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if textwrap::core::display_width(line) <= width {
            out.push_str(line);
            continue;
        }
        let content = line.trim_start();
        let indent = &line[..line.len() - content.len()];
        let deeper = format!("{indent}    ");
        let options = textwrap::Options::new(width)
            .initial_indent(indent)
            .subsequent_indent(&deeper);
        out.push_str(&textwrap::wrap(content, options).join("\n"));
    }
    out
}

/// RFC 3339 time of a millisecond timestamp.
fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.round(jiff::Unit::Second)
                .map(|t| t.to_string())
                .unwrap_or_default()
        })
        .unwrap_or_else(|_| ms.to_string())
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// [`people_list`] of names.
fn people_names(people: &[String]) -> String {
    if people.is_empty() {
        "nobody: add people to this role in aine.toml".to_owned()
    } else {
        people.join(", ")
    }
}

fn people_list(people: &[PersonId]) -> String {
    people_names(&people.iter().map(ToString::to_string).collect::<Vec<_>>())
}

/// What [`table_fitted`] does with a last column too wide for the line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastColumn {
    /// Wraps it under itself (free text: why, result).
    Wrap,
    /// Cuts it with `…`, one line per row (a matrix).
    Cut,
}

/// [`table_fitted`] with the last column wrapped.
fn table(header: &[&str], rows: &[Vec<String>]) {
    table_fitted(header, rows, LastColumn::Wrap);
}

/// Prints rows as left-aligned columns, fitting [`width`]: the last column wraps under itself
/// or is cut (`last`); when the other columns alone leave it fewer than `MIN_LAST` columns, the
/// widest of them are cut with `…` first.
pub(crate) fn table_fitted(header: &[&str], rows: &[Vec<String>], last_column: LastColumn) {
    const MIN_LAST: usize = 28;
    let count = |s: &str| textwrap::core::display_width(s);
    let mut widths: Vec<usize> = header.iter().map(|h| count(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(count(cell));
        }
    }
    let total = width();
    let last = widths.len().saturating_sub(1);
    let fixed = |widths: &[usize]| widths[..last].iter().map(|w| w + 2).sum::<usize>();
    // The last column needs at most its widest cell.
    let min_last = MIN_LAST.min(widths.get(last).copied().unwrap_or(MIN_LAST));
    while total != usize::MAX && fixed(&widths) + min_last > total {
        let Some((widest, w)) = widths[..last]
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(_, w)| *w)
        else {
            break;
        };
        if w <= 8 {
            break;
        }
        widths[widest] = w - 1;
    }
    let indent = fixed(&widths);
    let room = total.saturating_sub(indent).max(min_last);
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last && last_column == LastColumn::Cut {
                if count(cell) > room {
                    let cut: String = cell.chars().take(room.saturating_sub(1)).collect();
                    out.push_str(&format!("{cut}…"));
                } else {
                    out.push_str(cell);
                }
            } else if i == last {
                let wrapped = textwrap::wrap(cell, room);
                for (n, part) in wrapped.iter().enumerate() {
                    if n > 0 {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent));
                    }
                    out.push_str(part);
                }
            } else {
                let cell = if count(cell) > *w {
                    let cut: String = cell.chars().take(w.saturating_sub(1)).collect();
                    format!("{cut}…")
                } else {
                    cell.clone()
                };
                let pad = w.saturating_sub(count(&cell));
                out.push_str(&cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

pub fn validation_json(reports: &[(PathBuf, Result<Workflow, LoadError>)]) -> Value {
    Value::Array(
        reports
            .iter()
            .map(|(path, result)| match result {
                Ok(w) => json!({ "file": path, "ok": true, "workflow": w.name, "steps": w.steps.len(), "errors": [] }),
                Err(LoadError::Invalid(d)) => json!({
                    "file": path,
                    "ok": false,
                    "errors": d.0.iter().map(|d| json!({
                        "file": d.path, "line": d.line, "col": d.col, "message": d.message, "hint": d.hint,
                    })).collect::<Vec<_>>(),
                }),
                Err(e) => json!({ "file": path, "ok": false, "errors": [{ "file": path, "message": e.to_string() }] }),
            })
            .collect(),
    )
}

pub fn print_runs(items: &[aine_runtime::RunItem]) {
    if items.is_empty() {
        outln!("no runs yet; start one with `aine run WORKFLOW`");
        return;
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.workflow.clone(),
                r.status.clone(),
                time(r.created_at_ms),
            ]
        })
        .collect();
    table(&["RUN", "WORKFLOW", "STATUS", "STARTED"], &rows);
    // Ids are never cut: what a run waits at, and steps no model gave cleanly, come below.
    let waiting: Vec<&aine_runtime::RunItem> =
        items.iter().filter(|r| r.waiting_gate.is_some()).collect();
    if !waiting.is_empty() {
        outln!();
        outln!("waiting at a gate (aine review show GATE):");
        for r in waiting {
            outln!("  {}: {}", r.id, r.waiting_gate.clone().unwrap_or_default());
        }
    }
    let degraded: Vec<&aine_runtime::RunItem> =
        items.iter().filter(|r| !r.degraded.is_empty()).collect();
    if !degraded.is_empty() {
        outln!();
        outln!("not drafted cleanly by a model (fallback or unsure output):");
        for r in degraded {
            outln!("  {}: {}", r.id, r.degraded.join(", "));
        }
    }
}

pub fn print_view(view: &RunView) {
    outln!(
        "run {} (workflow `{}`): {}",
        view.run,
        view.workflow,
        view.status
    );
    outln!(
        "  started {}, last change {}, {} events",
        time(view.created_at_ms),
        time(view.updated_at_ms),
        view.events
    );
    if let Some(why) = &view.why {
        outln!("  why: {why}");
    }
    let rows: Vec<Vec<String>> = view
        .steps
        .iter()
        .map(|s| {
            let why = match (&s.gate, &s.error) {
                (Some(g), _) if g.decision.is_some() => format!(
                    "{} by {}{}{}",
                    g.decision.clone().unwrap_or_default(),
                    g.decided_by.as_ref().map(|p| p.as_str()).unwrap_or("?"),
                    g.reason
                        .as_ref()
                        .filter(|r| !r.is_empty())
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default(),
                    g.waited_ms
                        .map(|w| format!(" (waited {})", duration(w.max(0) as u64)))
                        .unwrap_or_default()
                ),
                (Some(g), _) => format!("waiting for {} ({})", g.owner, g.gate),
                (None, Some(e)) => format!("{}: {e}", s.why.clone().unwrap_or_default()),
                (None, None) => s.why.clone().unwrap_or_default(),
            };
            vec![
                s.id.to_string(),
                s.kind.clone(),
                s.state.clone(),
                if s.attempts == 0 {
                    "-".into()
                } else {
                    s.attempts.to_string()
                },
                s.duration_ms.map(duration).unwrap_or_else(|| "-".into()),
                why,
            ]
        })
        .collect();
    table(
        &["STEP", "KIND", "STATE", "ATTEMPTS", "DURATION", "WHY"],
        &rows,
    );
    print_elements(view);
    print_calls(view);
}

/// The elements of the run's `for_each` steps, one line each.
fn print_elements(view: &RunView) {
    let rows: Vec<Vec<String>> = view
        .steps
        .iter()
        .flat_map(|s| {
            s.elements.iter().map(move |e| {
                vec![
                    format!("{}[{}]", s.id, e.element),
                    format!("{}/{}", e.element + 1, e.of),
                    e.outcome.clone(),
                    duration(e.duration_ms),
                    e.why.clone(),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    outln!();
    table(&["ELEMENT", "OF", "OUTCOME", "DURATION", "WHY"], &rows);
}

/// The model calls of a run, with tokens and cost per call, per step and for the run.
fn print_calls(view: &RunView) {
    let calls: Vec<Vec<String>> = view
        .steps
        .iter()
        .flat_map(|s| {
            s.calls.iter().map(move |c| {
                vec![
                    match c.element {
                        Some(e) => format!("{}[{e}]#{}", s.id, c.call),
                        None => format!("{}#{}", s.id, c.call),
                    },
                    c.model.clone(),
                    c.reason.clone(),
                    match &c.detail {
                        Some(d) => format!("{}: {d}", c.result),
                        None => c.result.clone(),
                    },
                    format!("{}+{}", c.spend.input_tokens, c.spend.output_tokens),
                    c.spend.usd.to_string(),
                    duration(c.latency_ms),
                ]
            })
        })
        .collect();
    if calls.is_empty() {
        return;
    }
    outln!();
    table(
        &[
            "CALL",
            "MODEL",
            "WHY",
            "RESULT",
            "TOKENS IN+OUT",
            "COST",
            "LATENCY",
        ],
        &calls,
    );
    for s in view.steps.iter().filter(|s| !s.calls.is_empty()) {
        outln!(
            "  step {}: {} tokens, {}",
            s.id,
            s.spend.tokens(),
            s.spend.usd
        );
    }
    outln!("  run: {} tokens, {}", view.spend.tokens(), view.spend.usd);
}

pub fn print_summary(summary: &RunSummary) {
    match &summary.waiting {
        Some(w) => {
            outln!();
            outln!(
                "waiting: gate {} (step `{}`) needs a decision by {} ({})",
                w.gate,
                w.step,
                w.role,
                people_list(&w.people)
            );
            if !w.why.is_empty() {
                outln!("  opened because {}", w.why);
            }
            let who = w.people.first().map(PersonId::as_str).unwrap_or("PERSON");
            outln!("  inspect: aine review show {}", w.gate);
            outln!(
                "  decide:  aine review approve {} --as {who} --reason \"...\"",
                w.gate
            );
            outln!(
                "           aine review reject {} --as {who} --reason \"...\"",
                w.gate
            );
            outln!(
                "           aine review edit {} --as {who}   (item by item, in $EDITOR)",
                w.gate
            );
        }
        None => {
            if let Some(why) = &summary.why {
                outln!("\n{} {}: {why}", summary.run, summary.status);
            }
        }
    }
}

pub fn print_gates(gates: &[aine_runtime::GateItem]) {
    if gates.is_empty() {
        outln!("no gates waiting");
        return;
    }
    let rows: Vec<Vec<String>> = gates
        .iter()
        .map(|g| {
            vec![
                g.id.clone(),
                g.run.clone(),
                g.step.clone(),
                g.decision.clone().unwrap_or_else(|| "open".into()),
                format!("{} ({})", g.owner_role, people_names(&g.people)),
            ]
        })
        .collect();
    table(&["GATE", "RUN", "STEP", "STATUS", "OWNER"], &rows);
}

/// `aine review show GATE`: the gate, why it opened, and what it reviews: the draft as a spec
/// (`spec`, when the run drafts one) or the reviewed step's output as JSON.
pub fn print_gate_detail(
    detail: &aine_runtime::GateDetail,
    spec: Option<&aine_sdlc::trace::SpecTrace>,
) {
    let g = &detail.gate;
    let view = &detail.run;
    outln!("gate {} of run {} at step `{}`", g.id, g.run, g.step);
    outln!("  owner: {} ({})", g.owner_role, people_names(&g.people));
    outln!("  opened: {}", time(g.opened_at_ms));
    match (&g.decision, &g.decided_by) {
        (Some(d), Some(by)) => outln!(
            "  decided: {d} by {by}: {}",
            g.reason.clone().unwrap_or_default()
        ),
        _ => outln!("  status: open"),
    }
    let gate_step = view.steps.iter().find(|s| s.id.as_str() == g.step);
    if let Some(why) = gate_step.and_then(|s| s.why.as_ref()) {
        let options = textwrap::Options::new(width())
            .initial_indent("  ")
            .subsequent_indent("    ");
        for line in textwrap::wrap(&format!("opened because {why}"), options) {
            outln!("{line}");
        }
    }
    let reviews = gate_step
        .and_then(|s| s.gate.as_ref())
        .and_then(|gv| gv.reviews.clone());
    if let Some(spec) = spec {
        print_review_spec(spec);
        return;
    }
    if let Some(step) = reviews.and_then(|r| view.steps.iter().find(|s| s.id == r)) {
        outln!(
            "\nreviewed output of step `{}` ({}, {}):",
            step.id,
            step.kind,
            step.state
        );
        let text = step
            .output
            .as_ref()
            .and_then(|o| serde_json::to_string_pretty(o).ok())
            .unwrap_or_else(|| "(none)".into());
        outln!("{text}");
    }
}

/// The draft under review as a spec a person reads: each item with its text, where it came
/// from (a model, the fallback, a person's edit), the sentences it cites quoted with speaker and
/// ref, and its lint findings; wrapped at [`width`] columns.
fn print_review_spec(spec: &aine_sdlc::trace::SpecTrace) {
    let count = |kind: &str| spec.items.iter().filter(|i| i.kind == kind).count();
    outln!(
        "\ndraft under review: {} requirements, {} user stories, {} open questions{}",
        count("requirement"),
        count("user_story"),
        count("open_question"),
        if spec.published {
            " (published)"
        } else {
            " (not published)"
        }
    );
    let indent = " ".repeat(10);
    let wrap = |text: &str, first: &str| {
        let options = textwrap::Options::new(width())
            .initial_indent(first)
            .subsequent_indent(&indent);
        for line in textwrap::wrap(text, options) {
            outln!("{line}");
        }
    };
    for item in &spec.items {
        outln!();
        wrap(&item.text, &format!("{:<10}", item.id));
        let p = &item.produced_by;
        let origin = match (&p.step, p.element, p.why.as_deref()) {
            (None, _, _) => "added by a person at a gate".to_owned(),
            (Some(step), element, why) => {
                let at = match element {
                    Some(e) => format!("{step}, topic {}", e + 1),
                    None => step.to_string(),
                };
                let how = match why {
                    Some(w) if w.contains("as fallback") => "written by the fallback".to_owned(),
                    Some(w) if w.starts_with("answered by ") => {
                        w.split(" (").next().unwrap_or(w).replace('`', "")
                    }
                    Some(w) => w.replace('`', ""),
                    None => String::new(),
                };
                format!("{at}: {how}")
            }
        };
        wrap(&format!("from {origin}"), &indent);
        for s in &item.sources {
            let quote = match (&s.source, &s.text) {
                (Some(r), Some(text)) => format!(
                    "\"{text}\" ({}, {})",
                    r.speaker.as_deref().unwrap_or("note"),
                    s.id
                ),
                _ => format!("{}: no such sentence in the run's sources", s.id),
            };
            wrap(&quote, &indent);
        }
        for f in &item.findings {
            wrap(&format!("lint {}: {}", f.rule, f.message), &indent);
        }
    }
}

/// Steps of `view` that are done (finished, passed or decided).
pub fn done_steps(view: &RunView) -> usize {
    view.steps
        .iter()
        .filter(|s| !matches!(s.state.as_str(), "pending" | "running" | "due" | "waiting"))
        .count()
}

/// Shows a run's progress on stderr: a bar over its steps on a terminal; elsewhere (a log, CI)
/// one line per finished step and per tenth of a `for_each` step's elements, so long work is
/// not silent. Nothing in JSON mode.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    /// Whether to write plain lines (stderr is not a terminal and the output is not JSON).
    lines: bool,
    started: std::time::Instant,
    /// Elements finished in the current `for_each` step.
    elements: AtomicUsize,
}

impl Progress {
    /// A bar over `steps` steps of which `done` are already done (`hidden`: JSON mode).
    pub fn new(steps: usize, done: usize, hidden: bool) -> Self {
        use std::io::IsTerminal;
        let lines = !hidden && !std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            Some(steps as u64),
            if hidden {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} steps  {elapsed}  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(done as u64);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self {
            bar,
            lines,
            started: std::time::Instant::now(),
            elements: AtomicUsize::new(0),
        }
    }

    /// Writes `line` with the time since the start, when plain lines are wanted.
    fn line(&self, line: &str) {
        if self.lines {
            eprintln!("[{:>6.1} s] {line}", self.started.elapsed().as_secs_f64());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn on_action(&self, _run: &RunId, action: &Action) {
        let msg = match action {
            Action::RunStep { step, attempt, .. } if *attempt > 1 => {
                format!("{step} (attempt {attempt})")
            }
            Action::RunStep { step, .. }
            | Action::EvaluateGate { step }
            | Action::OpenGate { step, .. } => step.to_string(),
            Action::AwaitDecision { step, .. } => format!("{step}: waiting"),
            Action::FinishRun { status, .. } => format!("finishing: {status}"),
        };
        self.bar.set_message(msg);
    }

    fn on_journaled(&self, _run: &RunId, entry: &JournalEntry) {
        if let Event::ElementFinished {
            step,
            element,
            of,
            outcome,
            ..
        } = &entry.event
        {
            self.bar.set_message(format!(
                "{step}: {}/{of} done (last: {})",
                element + 1,
                outcome.kind()
            ));
            let done = self.elements.fetch_add(1, Ordering::Relaxed) + 1;
            let every = (*of as usize / 10).max(1);
            if done.is_multiple_of(every) || done == *of as usize {
                self.line(&format!("{step}: {done}/{of} elements done"));
            }
        }
        if let Event::StepFinished {
            step,
            outcome,
            duration_ms,
            ..
        } = &entry.event
        {
            self.elements.store(0, Ordering::Relaxed);
            self.line(&format!(
                "{step}: {} in {}",
                outcome.kind(),
                duration(*duration_ms)
            ));
        }
        if matches!(
            entry.event,
            Event::StepFinished { .. }
                | Event::GateEvaluated { open: false, .. }
                | Event::GateDecided { .. }
        ) {
            self.bar.inc(1);
        }
    }
}

pub fn print_audit(
    chain: &aine_store::AuditVerification,
    files: &[aine_runtime::audit::FileCheck],
    checked_files: bool,
) {
    match &chain.broken {
        None => outln!(
            "audit log: {} entries, chain intact{}",
            chain.entries,
            chain
                .head
                .as_ref()
                .map(|h| format!(", head {h}"))
                .unwrap_or_default()
        ),
        Some(b) => outln!("audit log: BROKEN at entry {}: {}", b.seq, b.reason),
    }
    if checked_files {
        if files.is_empty() {
            outln!("published files: none recorded");
        }
        for f in files {
            let state = match &f.actual_sha256 {
                None => "MISSING".to_owned(),
                Some(_) if f.unchanged() => "ok".to_owned(),
                Some(actual) => {
                    format!("CHANGED (sha256 {actual}, published {})", f.expected_sha256)
                }
            };
            outln!("  {} (audit entry {}): {state}", f.path, f.audit_seq);
        }
    }
}

fn stats(s: &aine_runtime::metrics::Stats) -> String {
    match (s.median_ms, s.p90_ms) {
        (Some(m), Some(p)) => format!(
            "{} / {}",
            duration(m.max(0) as u64),
            duration(p.max(0) as u64)
        ),
        _ => "-".to_owned(),
    }
}

fn percent(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".to_owned())
}

pub fn print_metrics(m: &aine_runtime::metrics::Metrics, since: Option<&str>) {
    if m.runs == 0 {
        outln!(
            "no runs{}; metrics appear once workflows have run",
            since.map(|s| format!(" since {s}")).unwrap_or_default()
        );
        return;
    }
    outln!(
        "{} runs{}\n",
        m.runs,
        since.map(|s| format!(" since {s}")).unwrap_or_default()
    );
    let rows: Vec<Vec<String>> = m
        .workflows
        .iter()
        .map(|w| {
            vec![
                w.workflow.clone(),
                w.runs.to_string(),
                w.by_status
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                stats(&w.cycle_time),
                stats(&w.gate_wait),
                w.spend.usd.to_string(),
                w.published_items.to_string(),
                w.cost_per_published_item
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &[
            "WORKFLOW",
            "RUNS",
            "STATUS",
            "CYCLE p50/p90",
            "REVIEW WAIT p50/p90",
            "COST",
            "ITEMS",
            "COST/ITEM",
        ],
        &rows,
    );
    if !m.gates.is_empty() {
        outln!();
        let rows: Vec<Vec<String>> = m
            .gates
            .iter()
            .map(|g| {
                vec![
                    format!("{}/{}", g.workflow, g.step),
                    g.opened.to_string(),
                    g.decided.to_string(),
                    percent(g.rejection_rate),
                    percent(g.edit_rate),
                    stats(&g.wait),
                ]
            })
            .collect();
        table(
            &[
                "GATE",
                "OPENED",
                "DECIDED",
                "REJECTED",
                "EDITED",
                "WAIT p50/p90",
            ],
            &rows,
        );
    }
    if !m.routes.is_empty() {
        outln!();
        let rows: Vec<Vec<String>> = m
            .routes
            .iter()
            .map(|r| {
                vec![
                    format!("{}/{}", r.workflow, r.step),
                    r.executions.to_string(),
                    percent(r.escalation_rate),
                    format!("{} of {}", r.fallbacks, r.results),
                    r.calls.to_string(),
                    r.spend.tokens().to_string(),
                    r.spend.usd.to_string(),
                ]
            })
            .collect();
        table(
            &[
                "MODEL STEP",
                "EXECUTIONS",
                "ESCALATED",
                "FALLBACK",
                "CALLS",
                "TOKENS",
                "COST",
            ],
            &rows,
        );
    }
    outln!();
    let rows: Vec<Vec<String>> = m
        .weeks
        .iter()
        .map(|w| {
            vec![
                w.week.clone(),
                w.workflow.clone(),
                w.runs.to_string(),
                w.spend.usd.to_string(),
                w.published_items.to_string(),
                w.cost_per_published_item
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &["WEEK", "WORKFLOW", "RUNS", "COST", "ITEMS", "COST/ITEM"],
        &rows,
    );
}

pub fn print_models(rows: &[Value]) {
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| "-".to_owned())
    };
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                text(&r["name"]),
                text(&r["provider"]),
                match &r["context_window"] {
                    Value::Null => "-".to_owned(),
                    n => n.to_string(),
                },
                format!(
                    "{} / {}",
                    text(&r["input_usd_per_mtok"]),
                    text(&r["output_usd_per_mtok"])
                ),
                if r["ready"] == true {
                    "ready".to_owned()
                } else if let Some(var) = r["api_key_env"].as_str() {
                    format!("set {var}")
                } else {
                    "run `aine models pull`".to_owned()
                },
            ]
        })
        .collect();
    table(
        &[
            "MODEL",
            "PROVIDER",
            "CONTEXT",
            "USD/MTOK IN / OUT",
            "STATUS",
        ],
        &table_rows,
    );
    for r in rows.iter().filter(|r| r["about"].is_string()) {
        outln!("  {}: {}", text(&r["name"]), text(&r["about"]));
    }
}
