//! `aine review edit GATE` on a drafted spec: the review form (YAML, see
//! [`aine_sdlc::review::form`]) in `$VISUAL`/`$EDITOR`, or from `--file review.yaml`; the edited
//! form is checked (every problem at its line) and recorded as one `edit` decision carrying the
//! per-item changes. A form with problems is kept under `.aine/review/` and opened again by the
//! next `aine review edit GATE`, so no work is lost.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use aine_runtime::Runtime;
use aine_sdlc::review::form;
use aine_spec::Draft;
use aine_types::{Decision, GateId};
use anyhow::{Context, Result, anyhow, bail};

/// Why a form was not accepted: each problem at `FILE:LINE:COLUMN`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .lines.join("\n"))]
pub struct FormRejected {
    pub lines: Vec<String>,
}

/// The drafted spec a gate reviews, the run's source sentences and the lint findings by item,
/// or an error saying to use a JSON edit.
async fn reviewed_draft(
    rt: &Runtime,
    gate: &GateId,
) -> Result<(
    Draft,
    Vec<aine_spec::Sentence>,
    HashMap<String, Vec<String>>,
    String,
)> {
    let record = rt.open_gate(gate).await?;
    let inspected = rt.inspect(&record.run).await?;
    let (reviews, draft) = aine_sdlc::review::reviewed_draft(&inspected, &record.step)
        .map_err(|e| anyhow!("gate {gate}: {e} (--file edited.json)"))?;
    let (sentences, findings) = match aine_sdlc::trace::spec_input(&inspected) {
        Ok((_, input)) => {
            let mut findings: HashMap<String, Vec<String>> = HashMap::new();
            for f in input.findings {
                if let Some(item) = f.item.clone() {
                    findings
                        .entry(item)
                        .or_default()
                        .push(format!("{} {}", f.rule, f.message));
                }
            }
            (input.sentences, findings)
        }
        Err(_) => (Vec::new(), HashMap::new()),
    };
    let title = format!(
        "Review of gate {gate} (run {}): the draft of step `{reviews}`, decided as one edit.",
        record.run
    );
    Ok((draft, sentences, findings, title))
}

/// The form kept between attempts for `gate`.
fn kept_form(project: &Path, gate: &GateId) -> PathBuf {
    project.join(".aine/review").join(format!("{gate}.yaml"))
}

/// Opens `path` in `$VISUAL`, `$EDITOR` or `vi`, through the shell so that an editor with
/// arguments (`code --wait`) works.
fn edit_in_editor(path: &Path) -> Result<()> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_owned());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .with_context(|| format!("cannot start the editor `{editor}`; set $EDITOR"))?;
    if !status.success() {
        bail!(
            "the editor `{editor}` exited with {status}; nothing decided (the form is kept at {})",
            path.display()
        );
    }
    Ok(())
}

/// A decision read from a review form.
pub struct FormDecision {
    pub decision: Decision,
    /// The form's `reason` (may be empty).
    pub reason: String,
    /// The kept form, to remove once the decision is recorded.
    pub kept: Option<PathBuf>,
}

/// What to decide after the form was edited: `None` when it was left unchanged.
pub async fn decision_from_form(
    rt: &Runtime,
    project: &Path,
    gate: &GateId,
    file: Option<&Path>,
) -> Result<Option<FormDecision>> {
    let (draft, sentences, findings, title) = reviewed_draft(rt, gate).await?;
    let blank = form::write(&title, &draft, &sentences, &findings);
    let (path, text) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            (path.to_path_buf(), text)
        }
        None => {
            let path = kept_form(project, gate);
            if !path.exists() {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create `{}`", dir.display()))?;
                }
                std::fs::write(&path, &blank)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
            } else {
                eprintln!(
                    "opening the form kept from the last attempt: {}",
                    path.display()
                );
            }
            edit_in_editor(&path)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            (path, text)
        }
    };
    if text == blank {
        if file.is_none() {
            let _ = std::fs::remove_file(&path);
        }
        return Ok(None);
    }
    let known: HashSet<&str> = sentences.iter().map(|s| s.source.id.as_str()).collect();
    let at = |errors: Vec<form::FormError>| {
        let mut lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{e}", path.display()))
            .collect();
        let again = if file.is_some() {
            format!(
                "fix it and run `aine review edit {gate} --file {}` again",
                path.display()
            )
        } else {
            format!("run `aine review edit {gate}` again to fix it (the form is kept)")
        };
        lines.push(format!("nothing decided; {again}"));
        anyhow::Error::new(FormRejected { lines })
    };
    let read = form::read(&text).map_err(at)?;
    let reviewed = form::apply_at_lines(&draft, &known, &read).map_err(at)?;
    let output = serde_json::to_value(&reviewed.draft)?;
    Ok(Some(FormDecision {
        decision: Decision::Edit {
            output,
            changes: reviewed.changes,
        },
        reason: read.reason,
        kept: file.is_none().then_some(path),
    }))
}
