//! Checks across steps: unique ids, references to earlier steps only, dependency cycles, gate
//! owners and the step a gate reviews. Builds the final [`Step`]s when everything holds.

use std::collections::{BTreeMap, HashMap, VecDeque};

use aine_types::{RoleName, StepId};

use crate::diagnostic::{Diags, suggest};
use crate::model::{GateStep, Step, StepKind};
use crate::step::{Flavor, RawStep};

/// Resolves references between `steps`, reporting every problem; returns the final steps when
/// every step is complete (the caller still checks `d` for errors reported earlier).
pub(crate) fn cross_check(
    d: &mut Diags,
    steps: Vec<RawStep>,
    owners: &BTreeMap<String, Option<RoleName>>,
) -> Option<Vec<Step>> {
    let index = unique_ids(d, &steps);
    let graph = references(d, &steps, &index);
    cycles(d, &steps, &graph);

    let mut out = Vec::with_capacity(steps.len());
    for (i, raw) in steps.iter().enumerate() {
        let kind = match raw.flavor {
            Some(Flavor::Gate) => gate(d, &steps, i, &index, owners).map(StepKind::Gate),
            _ => raw.kind.clone(),
        };
        let (Some(id), Some(kind)) = (raw.id.clone(), kind) else {
            continue;
        };
        let ids = |targets: &[usize]| {
            targets
                .iter()
                .filter_map(|&j| steps[j].id.clone())
                .collect::<Vec<_>>()
        };
        let needs = raw
            .needs
            .iter()
            .filter_map(|(n, _)| StepId::new(n.as_str()).ok())
            .collect();
        out.push(Step {
            id,
            line: raw.pos.line,
            kind,
            needs,
            depends_on: ids(&graph[i]),
            budget: raw.budget,
            for_each: raw.for_each.clone(),
            concurrency: raw.concurrency,
        });
    }
    (out.len() == steps.len()).then_some(out)
}

/// Maps each id to its first step; reports duplicates.
fn unique_ids(d: &mut Diags, steps: &[RawStep]) -> HashMap<String, usize> {
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, raw) in steps.iter().enumerate() {
        let Some(id) = &raw.id else { continue };
        match index.get(id.as_str()) {
            Some(&first) => {
                let hint = Some(format!(
                    "first defined at line {}",
                    steps[first].id_pos.line
                ));
                d.error(raw.id_pos, format!("duplicate step id `{id}`"), hint);
            }
            None => {
                index.insert(id.to_string(), i);
            }
        }
    }
    index
}

/// A hint for a reference to a step that does not exist.
fn missing_hint(name: &str, index: &HashMap<String, usize>) -> Option<String> {
    let mut ids: Vec<&str> = index.keys().map(String::as_str).collect();
    ids.sort_unstable();
    if let Some(full) = ids
        .iter()
        .find(|id| id.starts_with(&format!("{name}-")) || id.starts_with(&format!("{name}.")))
    {
        return Some(format!(
            "to read a step whose id contains `-` or `.`, write `steps[\"{full}\"]`"
        ));
    }
    suggest(name, ids, "defined steps")
}

/// Checks `needs` and template reads; returns, per step, the earlier steps it depends on
/// (file order, no duplicates) and, for cycle detection, every existing step it names.
fn references(d: &mut Diags, steps: &[RawStep], index: &HashMap<String, usize>) -> Vec<Vec<usize>> {
    let mut graph = Vec::with_capacity(steps.len());
    for (i, raw) in steps.iter().enumerate() {
        let mut targets: Vec<usize> = Vec::new();
        for (name, at) in raw.needs.iter().chain(&raw.reads) {
            let label = &raw.label;
            match index.get(name) {
                None => d.error(
                    *at,
                    format!("{label} refers to missing step `{name}`"),
                    missing_hint(name, index),
                ),
                Some(&j) if j == i => d.error(*at, format!("{label} refers to itself"), None),
                Some(&j) => {
                    if j > i {
                        let hint = format!(
                            "a step can only use steps defined before it; move `{name}` above"
                        );
                        d.error(
                            *at,
                            format!("{label} refers to later step `{name}`"),
                            Some(hint),
                        );
                    }
                    if !targets.contains(&j) {
                        targets.push(j);
                    }
                }
            }
        }
        targets.sort_unstable();
        graph.push(targets);
    }
    graph
}

/// Reports each dependency cycle once, as `a -> b -> a`, at the first step of the cycle.
fn cycles(d: &mut Diags, steps: &[RawStep], graph: &[Vec<usize>]) {
    let mut reported = vec![false; steps.len()];
    for start in 0..steps.len() {
        if reported[start] {
            continue;
        }
        let Some(path) = shortest_cycle(graph, start) else {
            continue;
        };
        if path.iter().any(|&n| reported[n]) {
            continue;
        }
        for &n in &path {
            reported[n] = true;
        }
        let names: Vec<String> = path
            .iter()
            .chain(std::iter::once(&start))
            .map(|&n| {
                steps[n]
                    .id
                    .as_ref()
                    .map_or_else(|| format!("#{}", n + 1), ToString::to_string)
            })
            .collect();
        d.error(
            steps[start].id_pos,
            format!("dependency cycle: {}", names.join(" -> ")),
            None,
        );
    }
}

/// The shortest path `start -> ... -> start` (without repeating `start` at the end), if any.
fn shortest_cycle(graph: &[Vec<usize>], start: usize) -> Option<Vec<usize>> {
    let mut parent: Vec<Option<usize>> = vec![None; graph.len()];
    let mut queue = VecDeque::from([start]);
    let mut seen = vec![false; graph.len()];
    seen[start] = true;
    while let Some(node) = queue.pop_front() {
        for &next in &graph[node] {
            if next == start {
                let mut path = vec![node];
                let mut cur = node;
                while let Some(p) = parent[cur] {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                return Some(path);
            }
            if !seen[next] {
                seen[next] = true;
                parent[next] = Some(node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Resolves a gate's owner and the step it reviews.
fn gate(
    d: &mut Diags,
    steps: &[RawStep],
    i: usize,
    index: &HashMap<String, usize>,
    owners: &BTreeMap<String, Option<RoleName>>,
) -> Option<GateStep> {
    let raw = &steps[i];
    let g = raw.gate.as_ref()?;
    let label = raw.label.replacen("step", "gate", 1);
    let role = g
        .owner
        .as_ref()
        .and_then(|(owner, at)| match owners.get(owner) {
            Some(role) => role.clone(),
            None => {
                let hint = if owners.is_empty() {
                    Some(format!(
                        "define it under `owners:`, e.g. `{owner}: {{ role: {owner} }}`"
                    ))
                } else {
                    suggest(owner, owners.keys().map(String::as_str), "defined owners")
                };
                d.error(*at, format!("{label} has unknown owner `{owner}`"), hint);
                None
            }
        });
    let reviews = match &g.reviews {
        Some((name, at)) => match index.get(name) {
            None => {
                d.error(
                    *at,
                    format!("{label} reviews missing step `{name}`"),
                    missing_hint(name, index),
                );
                None
            }
            Some(&j) if j >= i => {
                d.error(
                    *at,
                    format!("{label} reviews later step `{name}`"),
                    Some("a gate reviews an earlier step".into()),
                );
                None
            }
            Some(&j) if steps[j].flavor == Some(Flavor::Gate) => {
                let msg = format!(
                    "{label} reviews gate `{name}`: only builtin and model steps have output to review"
                );
                d.error(*at, msg, None);
                None
            }
            Some(&j) => Some(steps[j].id.clone()),
        },
        None => Some(
            steps[..i]
                .iter()
                .rev()
                .find(|s| s.flavor != Some(Flavor::Gate))
                .and_then(|s| s.id.clone()),
        ),
    };
    let (Some((owner, _)), Some(role), Some(reviews)) = (g.owner.as_ref(), role, reviews) else {
        return None;
    };
    Some(GateStep {
        owner: owner.clone(),
        role,
        when: g.when.clone(),
        reviews,
        autonomy: g.autonomy,
    })
}
