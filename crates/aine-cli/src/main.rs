//! `aine`: the command-line face of the aine runtime. Flags and output live here; every decision
//! is made by the library crates.

/// Writes to stdout; when stdout is closed (e.g. piped into `head`), exits quietly instead of
/// panicking like `print!` does.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// A line of text output: [`out!`] with a newline, wrapped at the output width (100 columns
/// unless `--wide`; see [`output::fit`]). JSON, CSV and Prometheus text go through [`out!`],
/// never wrapped.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => {{
        out!("{}\n", $crate::output::fit(&format!($($arg)*)));
    }};
}

mod args;
mod commands;
mod exit;
mod models_cmd;
mod output;
mod review_cmd;
mod serve_cmd;
mod telemetry_cmd;
mod trace_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    output::set_wide(cli.wide);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::code_for(&err))
        }
    }
}
