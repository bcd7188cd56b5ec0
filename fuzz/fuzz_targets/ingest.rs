//! `sources.ingest` on any bytes in each format: the first byte picks the file extension (and
//! so the reader: JSON transcript, WebVTT, SRT, e-mail, Markdown, text or `Speaker:` lines by
//! sniffing); the rest is the file. Every input ends in sentences or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Extensions by selector byte (`data[0] % len`); `txt` sniffs lines, e-mail, captions, JSON.
pub const EXTENSIONS: [&str; 7] = ["json", "vtt", "srt", "eml", "md", "txt", "log"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let ext = EXTENSIONS[usize::from(selector) % EXTENSIONS.len()];
    let dir = std::env::temp_dir().join(format!("aine-fuzz-ingest-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let name = format!("input.{ext}");
    let path = dir.join(&name);
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let mut sentences = 0usize;
    let _ = aine_sdlc::ingest::ingest_file(&path, &name, "input", &mut |_| sentences += 1);
    // libFuzzer ends the process without unwinding: the folder goes after every input, or each
    // run would leave one behind in the temporary directory.
    let _ = std::fs::remove_dir_all(&dir);
});
