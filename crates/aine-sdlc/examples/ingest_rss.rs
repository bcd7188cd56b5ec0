//! Benchmark: time and peak memory of ingesting a ~50 MB transcript.
//!
//! Writes a 50 MB `Speaker: text` transcript and a 50 MB JSON-turns transcript to a temporary
//! directory, then ingests each in a fresh child process (so each peak is its own) in three ways:
//! - `stream`: [`ingest_file`] with a callback that only counts (bounded memory);
//! - `collect`: [`ingest`], every sentence kept in memory (what the builtin computes);
//! - `builtin`: `sources.ingest` called through a `Registry` (JSON value plus contract checks).
//!
//! Peak RSS is `VmHWM` from `/proc/self/status` (Linux). Run:
//! `cargo run --release -p aine-sdlc --example ingest_rss`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use aine_runtime::{BuiltinContext, Registry};
use aine_sdlc::ingest::{ingest, ingest_file};

const TARGET_BYTES: usize = 50 * 1024 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, dir, file] = args.as_slice() {
        return child(mode, Path::new(dir), file);
    }
    let dir = tempfile::tempdir()?;
    let (lines_bytes, turns) = write_lines(&dir.path().join("big.txt"))?;
    let json_bytes = write_json(&dir.path().join("big.json"))?;
    println!(
        "Generated: big.txt {:.1} MB ({turns} turns), big.json {:.1} MB\n",
        mb(lines_bytes),
        mb(json_bytes)
    );
    println!("| file | mode | sentences | seconds | MB/s | peak RSS (MB) |");
    println!("|---|---|---|---|---|---|");
    let exe = std::env::current_exe()?;
    for (file, bytes) in [("big.txt", lines_bytes), ("big.json", json_bytes)] {
        for mode in ["stream", "collect", "builtin"] {
            let out = std::process::Command::new(&exe)
                .args([mode, &dir.path().display().to_string(), file])
                .output()?;
            if !out.status.success() {
                return Err(
                    format!("{mode} {file}: {}", String::from_utf8_lossy(&out.stderr)).into(),
                );
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = text.split_whitespace().collect();
            if let [sentences, secs, hwm] = fields.as_slice() {
                let secs: f64 = secs.parse()?;
                println!(
                    "| {file} | {mode} | {sentences} | {secs:.2} | {:.0} | {hwm} |",
                    mb(bytes) / secs
                );
            }
        }
    }
    Ok(())
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Ingests `file` one way; prints `sentences seconds peak_rss_mb`.
fn child(mode: &str, dir: &Path, file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let sentences = match mode {
        "stream" => {
            let mut n = 0u64;
            ingest_file(&dir.join(file), file, "big", &mut |_| n += 1)?;
            n
        }
        "collect" => ingest(dir, &[file.to_owned()])?.sentences.len() as u64,
        _ => {
            let mut registry = Registry::new();
            aine_sdlc::register(&mut registry)?;
            let ctx = BuiltinContext {
                run: "run_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse()?,
                step: aine_types::StepId::new("ingest")?,
                attempt: 1,
                files: aine_runtime::FileAccess::new(dir),
            };
            let builtin = registry.get("sources.ingest").ok_or("not registered")?;
            let out = builtin.call(serde_json::json!({ "sources": [file] }), &ctx)?;
            out["sentences"].as_array().map_or(0, |a| a.len() as u64)
        }
    };
    let secs = started.elapsed().as_secs_f64();
    println!("{sentences} {secs:.3} {}", peak_rss_mb()?);
    Ok(())
}

/// `VmHWM` (peak resident set size) in MB.
fn peak_rss_mb() -> Result<String, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    Ok(format!("{:.1}", kb / 1024.0))
}

const SPEAKERS: [&str; 4] = [
    "Project Manager",
    "Marketing",
    "User Interface",
    "Industrial Designer",
];
const TEXTS: [&str; 4] = [
    "Um {vocalsound} so the remote should have a big power button . Okay .",
    "I think it needs to cost under twenty five euros , and it must be easy to find .",
    "Mm-hmm . We want a yellow case {disfmarker} maybe with a logo on it .",
    "The battery has to last at least a year . It can't break when you drop it .",
];

fn write_lines(path: &Path) -> std::io::Result<(usize, u64)> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut turns) = (0, 0u64);
    while written < TARGET_BYTES {
        let i = (turns % 4) as usize;
        let line = format!("{}: {}\n", SPEAKERS[i], TEXTS[(turns as usize / 4 + i) % 4]);
        f.write_all(line.as_bytes())?;
        written += line.len();
        turns += 1;
    }
    f.flush()?;
    Ok((written, turns))
}

fn write_json(path: &Path) -> std::io::Result<usize> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0;
    let head = "{\"topic_list\": [], \"meeting_transcripts\": [\n";
    f.write_all(head.as_bytes())?;
    written += head.len();
    let mut turn = 0usize;
    while written < TARGET_BYTES {
        let i = turn % 4;
        let sep = if turn == 0 { "" } else { ",\n" };
        let item = format!(
            "{sep}{{\"speaker\": \"{}\", \"content\": \"{}\"}}",
            SPEAKERS[i],
            TEXTS[(turn / 4 + i) % 4].replace('\'', "\\u2019")
        );
        f.write_all(item.as_bytes())?;
        written += item.len();
        turn += 1;
    }
    f.write_all(b"\n]}\n")?;
    f.flush()?;
    Ok(written + 4)
}
