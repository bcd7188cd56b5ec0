//! One function per command: parse raw flags into typed values, call the libraries, print.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aine_runtime::{Config, Runtime, SystemClock};
use aine_store::{GateStatus, Store, StoreOptions};
use aine_types::{Decision, GateId, PersonId, RunId, RunStatus};
use std::io::Write as _;

use anyhow::{Context, Result, anyhow, bail};

use crate::args::{Audit, Cli, Command, Decide, Format, Metrics, Review};
use crate::exit;
use crate::output::{self, Progress};
use crate::telemetry_cmd::Telemetry;

/// Runs the parsed command and returns the exit code.
pub async fn dispatch(cli: Cli) -> Result<u8> {
    match &cli.command {
        Command::Init { force } => init(&cli.project, *force),
        Command::Validate { files, format } => validate(&cli, files, *format),
        Command::Run {
            workflow,
            inputs,
            format,
        } => run(&cli, workflow, inputs, *format).await,
        Command::Runs {
            status,
            limit,
            format,
        } => runs(&cli, status.as_deref(), *limit, *format).await,
        Command::Show { run, format } => show(&cli, run, *format).await,
        Command::Resume { run, format } => resume(&cli, run, *format).await,
        Command::Review(review) => self::review(&cli, review).await,
        Command::Audit(audit) => self::audit(&cli, audit).await,
        Command::Lint {
            files,
            format,
            input,
            disable,
            fail_on,
        } => lint(&cli, files, format, input.as_deref(), disable, fail_on),
        Command::Models(crate::args::Models::List { format }) => {
            crate::models_cmd::list(&models(&config(&cli)?), format.json)
        }
        Command::Models(crate::args::Models::Pull { name }) => crate::models_cmd::pull(name),
        Command::Trace {
            item,
            run,
            matrix: _,
            csv,
            format,
        } => {
            let rt = open_runtime(&cli).await?;
            let run = run.as_deref().map(parse_run).transpose()?;
            crate::trace_cmd::trace(&rt, item.as_deref(), run, *csv, *format).await
        }
        Command::Serve { bind } => crate::serve_cmd::serve(&cli, bind).await,
        Command::Token(token) => crate::serve_cmd::token(&cli, token).await,
        Command::Metrics(Metrics::Runs { since, format }) => {
            metrics(&cli, since.as_deref(), *format).await
        }
        Command::Metrics(Metrics::Prometheus { since }) => {
            let since_ms = since_ms(since.as_deref())?;
            crate::telemetry_cmd::prometheus(&open_runtime(&cli).await?, since_ms).await
        }
    }
}

fn config(cli: &Cli) -> Result<Config> {
    let mut config = Config::load_dir(&cli.project)?;
    if let Some(db) = &cli.db {
        config.database = db.clone();
    }
    Ok(config)
}

pub(crate) async fn open_runtime(cli: &Cli) -> Result<Runtime> {
    let config = config(cli)?;
    let store = Store::open(
        &config.database,
        &StoreOptions {
            busy_timeout: config.busy_timeout,
            durability: config.durability,
            ..StoreOptions::default()
        },
    )
    .await?;
    let registry = registry()?;
    let models = Arc::new(models(&config));
    Ok(Runtime::new(
        store,
        Arc::new(registry),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(models))
}

const EXAMPLE_CONFIG: &str = include_str!("../templates/aine.toml");
const EXAMPLE_WORKFLOW: &str = include_str!("../templates/example.workflow.yaml");

fn init(project: &Path, force: bool) -> Result<u8> {
    let mut files = vec![
        (project.join("aine.toml"), EXAMPLE_CONFIG),
        (
            project.join("workflows/example.workflow.yaml"),
            EXAMPLE_WORKFLOW,
        ),
    ];
    files.extend(
        aine_sdlc::BUNDLED_WORKFLOW_FILES
            .iter()
            .map(|(name, text)| (project.join("workflows").join(name), *text)),
    );
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists())
        && !force
    {
        bail!(
            "`{}` already exists; nothing was written (pass --force to overwrite)",
            path.display()
        );
    }
    for (path, text) in &files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
        outln!("wrote {}", path.display());
    }
    outln!(
        "next: aine -C {} run workflows/example.workflow.yaml --input name=World",
        project.display()
    );
    outln!(
        "      aine -C {} run workflows/requirements.workflow.yaml --input 'sources=[\"notes.md\"]' --input 'product=the mobile app'",
        project.display()
    );
    Ok(exit::OK)
}

/// Every builtin this aine has: the core ones and the SDLC pack's.
fn registry() -> Result<aine_runtime::Registry> {
    let mut registry = aine_runtime::core_registry()?;
    aine_sdlc::register(&mut registry)?;
    Ok(registry)
}

/// The configured models; the builder knows every provider kind.
fn models(config: &Config) -> aine_runtime::Models {
    aine_runtime::configured_models(config, Box::new(crate::models_cmd::build_model))
}

fn validate(cli: &Cli, files: &[PathBuf], format: Format) -> Result<u8> {
    let config = config(cli)?;
    let registry = registry()?;
    let models = models(&config);
    let catalog = aine_runtime::StepCatalog {
        registry: &registry,
        models: &models,
    };
    let mut reports = Vec::new();
    let mut failed = false;
    for file in files {
        let path = resolve(&cli.project, file);
        let result = aine_workflow::load(&path, &catalog);
        failed |= result.is_err();
        reports.push((path, result));
    }
    if format.json {
        output::print_json(&output::validation_json(&reports))?;
    } else {
        for (path, result) in &reports {
            match result {
                Ok(workflow) => outln!("{}: ok ({} steps)", path.display(), workflow.steps.len()),
                Err(e) => eprintln!("{e}"),
            }
        }
    }
    Ok(if failed { exit::INVALID } else { exit::OK })
}

async fn run(cli: &Cli, workflow: &Path, inputs: &[String], format: Format) -> Result<u8> {
    let rt = open_runtime(cli).await?;
    let path = resolve(&cli.project, workflow);
    let loaded = rt.load_workflow(&path)?;
    let inputs = aine_runtime::parse_inputs(&loaded, inputs, &cli.project)?;
    // Created in the store by the drive's first commit, with its first step's start.
    let started = rt.prepare(&path, inputs)?;
    let run = started.id();
    if !format.json {
        eprintln!(
            "started {run} (workflow `{}`, {} steps)",
            loaded.name,
            loaded.steps.len()
        );
    }
    let progress = Progress::new(loaded.steps.len(), 0, format.json);
    let telemetry = Telemetry::start(rt.config());
    let summary = rt.drive_started(started, &telemetry.tee(&progress)).await?;
    progress.finish();
    finish(&rt, &run, &summary, format).await
}

async fn resume(cli: &Cli, run: &str, format: Format) -> Result<u8> {
    let rt = open_runtime(cli).await?;
    let run = parse_run(run)?;
    let view = rt.view(&run).await?;
    let progress = Progress::new(view.steps.len(), output::done_steps(&view), format.json);
    let telemetry = Telemetry::start(rt.config());
    let summary = rt.resume(&run, &telemetry.tee(&progress)).await?;
    progress.finish();
    finish(&rt, &run, &summary, format).await
}

/// Prints where a run stands after driving it and picks the exit code.
async fn finish(
    rt: &Runtime,
    run: &RunId,
    summary: &aine_runtime::RunSummary,
    format: Format,
) -> Result<u8> {
    let view = rt.view(run).await?;
    if format.json {
        output::print_json(&serde_json::json!({ "summary": summary, "run": view }))?;
    } else {
        output::print_view(&view);
        output::print_summary(summary);
    }
    Ok(match summary.status {
        RunStatus::Failed | RunStatus::Rejected => exit::RUN_NOT_SUCCEEDED,
        RunStatus::Running | RunStatus::Waiting | RunStatus::Succeeded => exit::OK,
    })
}

async fn runs(cli: &Cli, status: Option<&str>, limit: u32, format: Format) -> Result<u8> {
    let status = status.map(str::parse::<RunStatus>).transpose()?;
    let rt = open_runtime(cli).await?;
    let items = rt.run_items(status, limit).await?;
    if format.json {
        output::print_json(&items)?;
    } else {
        output::print_runs(&items);
    }
    Ok(exit::OK)
}

async fn show(cli: &Cli, run: &str, format: Format) -> Result<u8> {
    let rt = open_runtime(cli).await?;
    let view = rt.view(&parse_run(run)?).await?;
    if format.json {
        output::print_json(&view)?;
    } else {
        output::print_view(&view);
    }
    Ok(exit::OK)
}

async fn review(cli: &Cli, review: &Review) -> Result<u8> {
    let rt = open_runtime(cli).await?;
    match review {
        Review::List { all, format } => {
            let status = if *all { None } else { Some(GateStatus::Open) };
            let gates = rt.gate_items(status).await?;
            if format.json {
                output::print_json(&gates)?;
            } else {
                output::print_gates(&gates);
            }
            Ok(exit::OK)
        }
        Review::Show { gate, format } => {
            let gate = parse_gate(gate)?;
            let detail = rt.gate_detail(&gate).await?;
            if format.json {
                output::print_json(&detail)?;
            } else {
                // The draft as a spec when the run drafts one (the requirements workflow);
                // any other reviewed output as JSON.
                let spec = aine_sdlc::trace::trace(&rt.inspect(&detail.run.run).await?).ok();
                output::print_gate_detail(&detail, spec.as_ref());
            }
            Ok(exit::OK)
        }
        Review::Approve { decide } => decide_gate(&rt, decide, Decision::Approve).await,
        Review::Reject { decide } => decide_gate(&rt, decide, Decision::Reject).await,
        Review::Edit { decide, file } => {
            let path = file.as_ref().map(|f| resolve(&cli.project, f));
            let is_json = path.as_ref().is_some_and(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            });
            if let (Some(path), true) = (&path, is_json) {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                let output: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    anyhow!(
                        "{}:{}:{}: not valid JSON: {e}; the edited output must be a JSON document",
                        path.display(),
                        e.line(),
                        e.column()
                    )
                })?;
                let decision = Decision::Edit {
                    output,
                    changes: Vec::new(),
                };
                return decide_gate(&rt, decide, decision).await;
            }
            let gate = parse_gate(&decide.gate)?;
            let Some(form) =
                crate::review_cmd::decision_from_form(&rt, &cli.project, &gate, path.as_deref())
                    .await?
            else {
                eprintln!("the review form was left unchanged; nothing decided");
                return Ok(exit::OK);
            };
            let decide = Decide {
                reason: if form.reason.is_empty() {
                    decide.reason.clone()
                } else {
                    form.reason
                },
                gate: decide.gate.clone(),
                person: decide.person.clone(),
                format: decide.format,
            };
            let code = decide_gate(&rt, &decide, form.decision).await?;
            if let Some(kept) = form.kept {
                let _ = std::fs::remove_file(kept);
            }
            Ok(code)
        }
    }
}

async fn decide_gate(rt: &Runtime, decide: &Decide, decision: Decision) -> Result<u8> {
    let gate = parse_gate(&decide.gate)?;
    let person = match &decide.person {
        Some(p) => PersonId::new(p.as_str())?,
        None => aine_runtime::config::user_from_user_config()?.ok_or_else(|| {
            anyhow!(
                "who is deciding? pass --as PERSON, set AINE_USER, or put `user = \"PERSON\"` in {}",
                aine_runtime::config::user_config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/aine/config.toml".to_owned())
            )
        })?,
    };
    let kind = decision.kind();
    let telemetry = Telemetry::start(rt.config());
    let run = rt
        .decide_observed(
            &gate,
            &person,
            decision,
            &decide.reason,
            telemetry.observer(),
        )
        .await?;
    if !decide.format.json {
        eprintln!("{person} decided {kind} on {gate}; continuing {run}");
    }
    let view = rt.view(&run).await?;
    let progress = Progress::new(
        view.steps.len(),
        output::done_steps(&view),
        decide.format.json,
    );
    let summary = rt.drive(&run, &telemetry.tee(&progress)).await?;
    progress.finish();
    finish(rt, &run, &summary, decide.format).await
}

pub(crate) fn parse_run(text: &str) -> Result<RunId> {
    text.parse::<RunId>()
        .with_context(|| "see `aine runs` for run ids".to_owned())
}

fn parse_gate(text: &str) -> Result<GateId> {
    text.parse::<GateId>()
        .with_context(|| "see `aine review list` for gate ids".to_owned())
}

fn resolve(project: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() || file.exists() {
        file.to_path_buf()
    } else {
        project.join(file)
    }
}

async fn audit(cli: &Cli, audit: &Audit) -> Result<u8> {
    let rt = open_runtime(cli).await?;
    match audit {
        Audit::Verify { files, format } => {
            let status = rt.audit_status(*files).await?;
            if format.json {
                output::print_json(&status)?;
            } else {
                output::print_audit(&status.chain, &status.files, *files);
            }
            Ok(if status.ok {
                exit::OK
            } else {
                exit::VERIFY_FAILED
            })
        }
        Audit::Export { output: path, .. } => {
            let mut out: Box<dyn std::io::Write> = match path {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create `{}`", p.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut after = 0;
            loop {
                let page = rt.store().audit_log(after, Some(1000)).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for record in &page {
                    serde_json::to_writer(&mut out, record)?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
            Ok(exit::OK)
        }
    }
}

/// `--since YYYY-MM-DD` (UTC) as milliseconds since the Unix epoch; 0 without it.
fn since_ms(since: Option<&str>) -> Result<i64> {
    aine_runtime::metrics::since_ms(since).map_err(|e| anyhow!("--since {e}"))
}

async fn metrics(cli: &Cli, since: Option<&str>, format: Format) -> Result<u8> {
    let since_ms = since_ms(since)?;
    let rt = open_runtime(cli).await?;
    let metrics = rt.metrics(since_ms).await?;
    if format.json {
        output::print_json(&metrics)?;
    } else {
        output::print_metrics(&metrics, since);
    }
    Ok(exit::OK)
}

fn lint(
    cli: &Cli,
    files: &[PathBuf],
    format: &str,
    input: Option<&str>,
    disable: &[String],
    fail_on: &str,
) -> Result<u8> {
    let input = input
        .map(|name| {
            aine_lint::InputFormat::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = aine_lint::InputFormat::ALL
                    .iter()
                    .map(|f| f.as_str())
                    .collect();
                anyhow!(
                    "unknown input format `{name}`; use one of {}",
                    names.join(", ")
                )
            })
        })
        .transpose()?;
    let options = aine_lint::LintOptions {
        disabled: disable
            .iter()
            .map(|r| r.parse::<aine_lint::RuleId>())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!("{e}; see crates/aine-lint/RULES.md for rule ids"))?,
        ..Default::default()
    };
    let mut findings = Vec::new();
    for file in files {
        let path = resolve(&cli.project, file);
        findings.extend(aine_lint::lint_path(&path, input, &options)?);
    }
    match format {
        "json" => output::print_json(&aine_lint::to_json(&findings))?,
        "sarif" => output::print_json(&aine_lint::to_sarif(&findings, aine_lint::rules()))?,
        _ => out!("{}", output::fit(&aine_lint::to_text(&findings))),
    }
    let threshold = match fail_on {
        "error" => Some(aine_lint::Severity::Error),
        "warning" => Some(aine_lint::Severity::Warning),
        "note" => Some(aine_lint::Severity::Note),
        _ => None,
    };
    let failing = threshold.is_some_and(|t| findings.iter().any(|f| f.severity <= t));
    Ok(if failing {
        exit::LINT_FINDINGS
    } else {
        exit::OK
    })
}
