//! Outcome metrics from run records: what the work achieved and what it cost, not how often a
//! tool was used. Cycle time and review time follow the spirit of DORA's lead time for changes
//! (Forsgren, Humble, Kim, "Accelerate", 2018): time from start to a published result.

use std::collections::BTreeMap;

use aine_store::RunRecord;
use aine_types::{Decision, Event, JournalEntry, Outcome, RunStatus, Spend, Usd};
use serde::Serialize;

/// Median and 90th percentile (nearest rank) of durations, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Stats {
    pub count: u64,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl Stats {
    fn of(mut values: Vec<i64>) -> Stats {
        values.sort_unstable();
        let rank = |p: f64| -> Option<i64> {
            if values.is_empty() {
                return None;
            }
            let n = values.len();
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            values.get(i).copied()
        };
        Stats {
            count: values.len() as u64,
            median_ms: rank(0.5),
            p90_ms: rank(0.9),
        }
    }
}

/// Per workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowMetrics {
    pub workflow: String,
    pub runs: u64,
    pub by_status: BTreeMap<String, u64>,
    /// Start to publication (or to success, for workflows that publish nothing).
    pub cycle_time: Stats,
    /// Time runs spent waiting at gates (manual review time).
    pub gate_wait: Stats,
    pub spend: Spend,
    /// Requirements plus user stories published.
    pub published_items: u64,
    /// USD per published item (`None` when nothing was published).
    pub cost_per_published_item: Option<Usd>,
}

/// Per gate (workflow and step): decisions and how often they rejected or edited (a defect
/// signal: the model's output needed a human fix).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateMetrics {
    pub workflow: String,
    pub step: String,
    pub opened: u64,
    pub decided: u64,
    pub approved: u64,
    pub rejected: u64,
    pub edited: u64,
    pub rejection_rate: Option<f64>,
    pub edit_rate: Option<f64>,
    pub wait: Stats,
}

/// Per model step: how often its route escalated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteMetrics {
    pub workflow: String,
    pub step: String,
    /// Step executions that called a model.
    pub executions: u64,
    /// Executions in which at least one escalation happened.
    pub escalated: u64,
    pub escalation_rate: Option<f64>,
    /// Results of the step: one per execution, or one per element of a `for_each` step.
    pub results: u64,
    /// Results that came from the step's `fallback_builtin` (outcome `fallback`): no model
    /// gave a usable answer.
    pub fallbacks: u64,
    pub fallback_rate: Option<f64>,
    pub calls: u64,
    pub spend: Spend,
}

/// Per ISO week (e.g. `2026-W48`) and workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekMetrics {
    pub week: String,
    pub workflow: String,
    pub runs: u64,
    pub spend: Spend,
    pub published_items: u64,
    pub cost_per_published_item: Option<Usd>,
}

/// Everything `aine metrics runs` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub runs: u64,
    pub workflows: Vec<WorkflowMetrics>,
    pub gates: Vec<GateMetrics>,
    pub routes: Vec<RouteMetrics>,
    pub weeks: Vec<WeekMetrics>,
}

/// A `since` that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date; use YYYY-MM-DD")]
pub struct NotADate(pub String);

/// The start (UTC) of the date `since` (`YYYY-MM-DD`) in milliseconds since the Unix epoch;
/// 0 (every run) without one. The one reading of `--since` and `?since=` for every front-end.
pub fn since_ms(since: Option<&str>) -> Result<i64, NotADate> {
    match since {
        None => Ok(0),
        Some(text) => text
            .parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_millisecond())
            .ok_or_else(|| NotADate(text.to_owned())),
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn per_item(spend: Spend, items: u64) -> Option<Usd> {
    (items > 0).then(|| Usd(spend.usd.0 / aine_types::Decimal::from(items)))
}

fn iso_week(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            let week = t.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
            format!("{}-W{:02}", week.year(), week.week())
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Computes the metrics of `runs` (records with their journals). `publish_steps` tells which
/// steps of a workflow publish (their output's `requirements` + `user_stories` count as items).
pub fn compute(
    runs: &[(RunRecord, Vec<JournalEntry>)],
    is_publish: &dyn Fn(&str, &str) -> bool,
) -> Metrics {
    #[derive(Default)]
    struct Acc {
        runs: u64,
        by_status: BTreeMap<String, u64>,
        cycle: Vec<i64>,
        wait: Vec<i64>,
        spend: Spend,
        items: u64,
    }
    #[derive(Default)]
    struct GateAcc {
        opened: u64,
        approved: u64,
        rejected: u64,
        edited: u64,
        wait: Vec<i64>,
    }
    #[derive(Default)]
    struct RouteAcc {
        executions: u64,
        escalated: u64,
        results: u64,
        fallbacks: u64,
        calls: u64,
        spend: Spend,
    }
    let mut workflows: BTreeMap<String, Acc> = BTreeMap::new();
    let mut gates: BTreeMap<(String, String), GateAcc> = BTreeMap::new();
    let mut routes: BTreeMap<(String, String), RouteAcc> = BTreeMap::new();
    let mut weeks: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for (record, journal) in runs {
        let wf = record.workflow.clone();
        let started = journal
            .first()
            .map(|e| e.at_ms)
            .unwrap_or(record.created_at_ms);
        let mut published_at = None;
        let mut items = 0u64;
        let mut spend = Spend::default();
        let mut opened_at: BTreeMap<String, i64> = BTreeMap::new();
        let mut wait = Vec::new();
        // (step, attempt) executions that called a model, and whether they escalated
        let mut executions: BTreeMap<String, (u64, bool)> = BTreeMap::new();
        // Per step: whether each element ended `fallback`, and whether the step did.
        let mut element_fallbacks: BTreeMap<String, Vec<bool>> = BTreeMap::new();
        let mut step_fallback: BTreeMap<String, bool> = BTreeMap::new();
        for entry in journal {
            match &entry.event {
                Event::ElementFinished { step, outcome, .. } => {
                    element_fallbacks
                        .entry(step.to_string())
                        .or_default()
                        .push(matches!(outcome, Outcome::Fallback { .. }));
                }
                Event::StepFinished { step, outcome, .. } if !is_publish(&wf, step.as_str()) => {
                    step_fallback.insert(
                        step.to_string(),
                        matches!(outcome, Outcome::Fallback { .. }),
                    );
                }
                Event::StepFinished { step, outcome, .. } if is_publish(&wf, step.as_str()) => {
                    if let Some(v) = outcome.output() {
                        items += ["requirements", "user_stories"]
                            .iter()
                            .filter_map(|k| v.get(k).and_then(serde_json::Value::as_u64))
                            .sum::<u64>();
                        published_at.get_or_insert(entry.at_ms);
                    }
                }
                Event::ModelCalled {
                    step,
                    reason,
                    spend: s,
                    ..
                } => {
                    spend += *s;
                    let r = routes.entry((wf.clone(), step.to_string())).or_default();
                    r.calls += 1;
                    r.spend += *s;
                    let e = executions.entry(step.to_string()).or_insert((0, false));
                    e.0 += 1;
                    e.1 |= reason.starts_with("escalated");
                }
                Event::GateOpened { step, .. } => {
                    opened_at.insert(step.to_string(), entry.at_ms);
                    gates
                        .entry((wf.clone(), step.to_string()))
                        .or_default()
                        .opened += 1;
                }
                Event::GateDecided { step, decision, .. } => {
                    let g = gates.entry((wf.clone(), step.to_string())).or_default();
                    match decision {
                        Decision::Approve => g.approved += 1,
                        Decision::Reject => g.rejected += 1,
                        Decision::Edit { .. } => g.edited += 1,
                    }
                    if let Some(t) = opened_at.get(step.as_str()) {
                        g.wait.push(entry.at_ms - t);
                        wait.push(entry.at_ms - t);
                    }
                }
                _ => {}
            }
        }
        for (step, (_, escalated)) in &executions {
            let r = routes.entry((wf.clone(), step.clone())).or_default();
            r.executions += 1;
            r.escalated += u64::from(*escalated);
            let results: Vec<bool> = match element_fallbacks.get(step) {
                Some(elements) => elements.clone(),
                None => step_fallback.get(step).copied().into_iter().collect(),
            };
            r.results += results.len() as u64;
            r.fallbacks += results.iter().filter(|f| **f).count() as u64;
        }
        let finished_ok = record.status == RunStatus::Succeeded;
        let end = published_at.or_else(|| {
            finished_ok
                .then(|| journal.last().map(|e| e.at_ms))
                .flatten()
        });
        let acc = workflows.entry(wf.clone()).or_default();
        acc.runs += 1;
        *acc.by_status.entry(record.status.to_string()).or_default() += 1;
        if let Some(end) = end {
            acc.cycle.push(end - started);
        }
        acc.wait.extend(wait);
        acc.spend += spend;
        acc.items += items;
        let week = weeks.entry((iso_week(started), wf)).or_default();
        week.runs += 1;
        week.spend += spend;
        week.items += items;
    }
    Metrics {
        runs: runs.len() as u64,
        workflows: workflows
            .into_iter()
            .map(|(workflow, a)| WorkflowMetrics {
                workflow,
                runs: a.runs,
                by_status: a.by_status,
                cycle_time: Stats::of(a.cycle),
                gate_wait: Stats::of(a.wait),
                cost_per_published_item: per_item(a.spend, a.items),
                spend: a.spend,
                published_items: a.items,
            })
            .collect(),
        gates: gates
            .into_iter()
            .map(|((workflow, step), g)| {
                let decided = g.approved + g.rejected + g.edited;
                GateMetrics {
                    workflow,
                    step,
                    opened: g.opened,
                    decided,
                    approved: g.approved,
                    rejected: g.rejected,
                    edited: g.edited,
                    rejection_rate: rate(g.rejected, decided),
                    edit_rate: rate(g.edited, decided),
                    wait: Stats::of(g.wait),
                }
            })
            .collect(),
        routes: routes
            .into_iter()
            .map(|((workflow, step), r)| RouteMetrics {
                workflow,
                step,
                executions: r.executions,
                escalated: r.escalated,
                escalation_rate: rate(r.escalated, r.executions),
                results: r.results,
                fallbacks: r.fallbacks,
                fallback_rate: rate(r.fallbacks, r.results),
                calls: r.calls,
                spend: r.spend,
            })
            .collect(),
        weeks: weeks
            .into_iter()
            .map(|((week, workflow), a)| WeekMetrics {
                week,
                workflow,
                runs: a.runs,
                cost_per_published_item: per_item(a.spend, a.items),
                spend: a.spend,
                published_items: a.items,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let s = Stats::of((1..=10).collect());
        assert_eq!((s.count, s.median_ms, s.p90_ms), (10, Some(5), Some(9)));
        let s = Stats::of(vec![7]);
        assert_eq!((s.median_ms, s.p90_ms), (Some(7), Some(7)));
        assert_eq!(Stats::of(Vec::new()), Stats::default());
    }

    #[test]
    fn weeks_are_iso_weeks() {
        // 2026-11-23 is a Monday in ISO week 48.
        assert_eq!(iso_week(1_795_392_000_000), "2026-W48");
    }
}
