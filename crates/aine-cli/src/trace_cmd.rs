//! `aine trace ITEM-ID` and `aine trace --matrix`: traceability of a run's spec
//! (see `aine_sdlc::trace`).

use aine_runtime::Runtime;
use aine_sdlc::trace::{ItemTrace, SpecTrace, TraceError};
use aine_store::RunFilter;
use aine_types::RunId;
use anyhow::{Result, bail};

use crate::args::Format;
use crate::exit;
use crate::output;

/// How many of the newest runs are looked at to find one with a spec.
const NEWEST_RUNS: u32 = 200;

/// Prints one item's trace (`item`) or the whole matrix (`item` = `None`).
pub async fn trace(
    rt: &Runtime,
    item: Option<&str>,
    run: Option<RunId>,
    csv: bool,
    format: Format,
) -> Result<u8> {
    let spec = match run {
        Some(run) => aine_sdlc::trace::trace(&rt.inspect(&run).await?)?,
        None => newest_spec(rt).await?,
    };
    match item {
        Some(id) => {
            let item = spec.item(id)?;
            if format.json {
                output::print_json(item)?;
            } else {
                print_item(&spec, item);
            }
        }
        None if csv => print_csv(&spec)?,
        None if format.json => output::print_json(&spec)?,
        None => print_matrix(&spec),
    }
    Ok(exit::OK)
}

/// The spec of the newest run that has drafted one.
async fn newest_spec(rt: &Runtime) -> Result<SpecTrace> {
    let runs = rt
        .store()
        .runs(&RunFilter {
            status: None,
            limit: Some(NEWEST_RUNS),
        })
        .await?;
    for record in runs {
        match aine_sdlc::trace::trace(&rt.inspect(&record.id).await?) {
            Ok(spec) => return Ok(spec),
            Err(TraceError::NoPublishStep { .. } | TraceError::NotDrafted { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    bail!(
        "no run has drafted a spec yet; run the requirements workflow first \
         (`aine run workflows/requirements.workflow.yaml -i sources=...`), or name a run with --run"
    )
}

fn print_item(spec: &SpecTrace, item: &ItemTrace) {
    outln!("{} ({})", item.id, item.kind.replace('_', " "));
    outln!("  {}", item.text);
    outln!();
    outln!(
        "run       {} (workflow {}, {})",
        spec.run,
        spec.workflow,
        if spec.published {
            "published"
        } else {
            "not published yet"
        }
    );
    let producer = &item.produced_by;
    match (&producer.step, &producer.kind, producer.element) {
        (Some(step), Some(kind), Some(element)) => {
            outln!("step      {step}[{element}] ({kind}, for_each element {element})")
        }
        (Some(step), Some(kind), None) => outln!("step      {step} ({kind})"),
        _ => outln!("step      none"),
    }
    if let Some(why) = &producer.why {
        outln!("why       {why}");
    }
    outln!();
    outln!("sources ({})", item.sources.len());
    if item.sources.is_empty() {
        outln!("  none: this item cites no source");
    }
    for source in &item.sources {
        match (&source.source, &source.text) {
            (Some(r), Some(text)) => {
                let who = r
                    .speaker
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                let turn = r.turn.map(|t| format!(" turn {t}")).unwrap_or_default();
                outln!(
                    "  {}  {}{who}{turn} bytes {}..{}",
                    source.id,
                    r.file,
                    r.start,
                    r.end
                );
                outln!("      \"{text}\"");
            }
            _ => outln!(
                "  {}  BROKEN: the run's sources have no such sentence",
                source.id
            ),
        }
    }
    outln!();
    outln!("model attempts ({})", producer.attempts.len());
    for a in &producer.attempts {
        outln!(
            "  #{} {} ({}) {}: {}; {} in / {} out tokens, {} USD, {} ms",
            a.call,
            a.model,
            a.provider,
            a.reason,
            a.result,
            a.spend.input_tokens,
            a.spend.output_tokens,
            a.spend.usd,
            a.latency_ms
        );
    }
    outln!();
    outln!("decisions ({})", item.decisions.len());
    for d in &item.decisions {
        let by = d.by.as_ref().map_or("system", |p| p.as_str());
        let related = match (d.change, &d.related) {
            (Some("added"), Some(from)) => format!(" from {from}"),
            (_, Some(to)) => format!(", as {to}"),
            _ => String::new(),
        };
        let change = d
            .change
            .map(|c| format!(" (item {}{related})", c.replace('_', " ")))
            .unwrap_or_default();
        let decision_reason = d.reason.as_deref().filter(|r| !r.is_empty());
        let reason = match (&d.item_reason, decision_reason) {
            (Some(item), Some(all)) => format!(": {item} (decision: {all})"),
            (Some(item), None) => format!(": {item}"),
            (None, Some(all)) => format!(": {all}"),
            (None, None) => String::new(),
        };
        outln!("  {} {} by {by}{change}{reason}", d.step, d.decision);
    }
    if !item.findings.is_empty() {
        outln!();
        outln!("lint findings ({})", item.findings.len());
        for f in &item.findings {
            outln!("  {} {}", f.rule, f.message);
        }
    }
}

fn print_matrix(spec: &SpecTrace) {
    outln!(
        "run {} (workflow {}, {}), {} items",
        spec.run,
        spec.workflow,
        if spec.published {
            "published"
        } else {
            "not published yet"
        },
        spec.items.len()
    );
    let rows: Vec<Vec<String>> = spec
        .rows()
        .into_iter()
        .map(|row| {
            let sentence = if row.source.is_empty() {
                "(cites no source)"
            } else {
                row.sentence.unwrap_or("(no such sentence)")
            };
            vec![
                row.item.to_owned(),
                row.kind.to_owned(),
                row.source.to_owned(),
                row.file.unwrap_or("").to_owned(),
                sentence.to_owned(),
            ]
        })
        .collect();
    crate::output::table_fitted(
        &["ITEM", "KIND", "SOURCE", "FILE", "SENTENCE"],
        &rows,
        crate::output::LastColumn::Cut,
    );
}

fn print_csv(spec: &SpecTrace) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in spec.rows() {
        writer.serialize(&row)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    out!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}
