//! Which files a run may read and write: those inside the project directory and the directories
//! listed under `[files] allow` in `aine.toml`, and no others.
//!
//! Every path a builtin is given (a source to ingest, a file to append to, the directory a spec
//! is published to) goes through [`FileAccess::resolve`]:
//! - a relative path resolves against the project directory;
//! - an absolute path is accepted only inside an allowed directory;
//! - `..` that climbs out of every allowed directory is refused;
//! - a path whose existing part leads, through a symbolic link, out of every allowed directory
//!   is refused.
//!
//! The check runs twice: when a run starts, on every path its inputs name (so a refused path is
//! never journaled, and an HTTP client gets a 422 `path_refused`), and when the builtin opens the file (for
//! paths known only later, and for links made in between).

use std::path::{Component, Path, PathBuf};

/// Where a run may read and write files. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAccess {
    /// The project directory (absolute or relative to the working directory).
    project_dir: PathBuf,
    /// `[files] allow`, each resolved against the project directory.
    allowed: Vec<PathBuf>,
    /// `[files] max_read_bytes`: the largest file a builtin reads whole (bytes).
    max_read_bytes: u64,
}

/// Default of `[files] max_read_bytes`: 64 MiB. Ingesting a transcript holds its sentences in
/// memory and journals them; a 200 MB one peaked at 15 GB RSS (issue 14), a 50 MB one stays
/// within a few GB, so a larger source is refused before it is read.
pub const DEFAULT_MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Why a path was refused. Messages say what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty; give a file path relative to the project directory")]
    Empty,
    #[error("`{path}` holds a NUL byte; give a file path relative to the project directory")]
    Nul { path: String },
    #[error(
        "`{path}` is an absolute path outside the project directory{allowed}; give a path relative to the project directory, or list its directory under [files] allow in aine.toml"
    )]
    Absolute { path: String, allowed: String },
    #[error(
        "`{path}` climbs out of the project directory through `..`{allowed}; give a path inside it, or list the directory under [files] allow in aine.toml"
    )]
    Escapes { path: String, allowed: String },
    #[error(
        "`{path}` leads through a symbolic link to `{target}`, outside the project directory{allowed}; copy the file into the project, or list its directory under [files] allow in aine.toml"
    )]
    LinkOut {
        path: String,
        target: String,
        allowed: String,
    },
    #[error("cannot check `{path}`: {message}")]
    Io { path: String, message: String },
}

impl FileAccess {
    /// Access to `project_dir` only.
    pub fn new(project_dir: &Path) -> Self {
        Self {
            project_dir: project_dir.to_path_buf(),
            allowed: Vec::new(),
            max_read_bytes: DEFAULT_MAX_READ_BYTES,
        }
    }

    /// The same access, reading files of at most `bytes` whole.
    pub fn with_max_read_bytes(mut self, bytes: u64) -> Self {
        self.max_read_bytes = bytes;
        self
    }

    /// The largest file (bytes) a builtin may read whole, e.g. a source to ingest.
    pub fn max_read_bytes(&self) -> u64 {
        self.max_read_bytes
    }

    /// The same access, plus the directories `allow` (relative ones resolve against the
    /// project directory).
    pub fn with_allowed(mut self, allow: &[PathBuf]) -> Self {
        self.allowed = allow.iter().map(|d| self.project_dir.join(d)).collect();
        self
    }

    /// `given` (a path as a workflow or its inputs name it) as the path to open, or why it may
    /// not be used. The returned path has no `.` or `..` components; its existing part has
    /// been checked for symbolic links out of the allowed directories.
    ///
    /// # Errors
    /// [`PathError`]: empty, NUL byte, absolute outside the allowed directories, `..` out of
    /// them, a link out of them, or an I/O error while following links.
    pub fn resolve(&self, given: &str) -> Result<PathBuf, PathError> {
        if given.is_empty() {
            return Err(PathError::Empty);
        }
        if given.contains('\0') {
            return Err(PathError::Nul {
                path: given.to_owned(),
            });
        }
        let roots = self.roots();
        let path = Path::new(given);
        let candidate = normalize(&self.project_dir.join(path));
        let inside = candidate
            .as_ref()
            .is_some_and(|c| roots.iter().any(|(lexical, _)| c.starts_with(lexical)));
        let candidate = match candidate {
            Some(c) if inside => c,
            _ if path.is_absolute() => {
                return Err(PathError::Absolute {
                    path: given.to_owned(),
                    allowed: self.allowed_note(),
                });
            }
            _ => {
                return Err(PathError::Escapes {
                    path: given.to_owned(),
                    allowed: self.allowed_note(),
                });
            }
        };
        // Follow links in the part that exists; what does not exist yet cannot be a link.
        let (existing, rest) = split_existing(&candidate);
        let real = std::fs::canonicalize(&existing).map_err(|e| PathError::Io {
            path: given.to_owned(),
            message: e.to_string(),
        })?;
        if !roots
            .iter()
            .any(|(_, canonical)| canonical.as_ref().is_some_and(|r| real.starts_with(r)))
        {
            return Err(PathError::LinkOut {
                path: given.to_owned(),
                target: real.display().to_string(),
                allowed: self.allowed_note(),
            });
        }
        Ok(rest.iter().fold(real, |p, c| p.join(c)))
    }

    /// Each allowed directory lexically normalized, and canonical where it exists.
    fn roots(&self) -> Vec<(PathBuf, Option<PathBuf>)> {
        std::iter::once(&self.project_dir)
            .chain(&self.allowed)
            .filter_map(|dir| {
                let lexical = normalize(dir)?;
                let canonical = std::fs::canonicalize(dir).ok();
                Some((lexical, canonical))
            })
            .collect()
    }

    /// `" `/p` (or [files] allow: `/a`, `/b`)"`, for messages.
    fn allowed_note(&self) -> String {
        let mut note = format!(" `{}`", self.project_dir.display());
        if !self.allowed.is_empty() {
            let dirs: Vec<String> = self
                .allowed
                .iter()
                .map(|d| format!("`{}`", d.display()))
                .collect();
            note.push_str(&format!(" and [files] allow ({})", dirs.join(", ")));
        }
        note
    }
}

/// `path` made absolute against the working directory (unchanged when that cannot be read).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` made absolute, without `.` and with each `..` removing the component before it;
/// `None` when a `..` would climb above the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in absolute(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The longest prefix of `path` that exists (at least the root), and the components after it.
fn split_existing(path: &Path) -> (PathBuf, Vec<std::ffi::OsString>) {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        match (
            existing.file_name().map(ToOwned::to_owned),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    rest.reverse();
    (existing, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project directory with `notes.md`, `sub/`, a link `out -> /etc` and a link
    /// `inner -> sub`, and a sibling directory `shared/` with `a.md`.
    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join("sub")).unwrap();
        std::fs::write(project.join("notes.md"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("shared")).unwrap();
        std::fs::write(dir.path().join("shared/a.md"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", project.join("out")).unwrap();
        std::os::unix::fs::symlink(project.join("sub"), project.join("inner")).unwrap();
        (dir, project)
    }

    fn check(access: &FileAccess, given: &str, expected: Result<&str, &str>) {
        let got = access.resolve(given);
        match (got, expected) {
            (Ok(path), Ok(suffix)) => {
                assert!(
                    path.ends_with(suffix),
                    "{given}: {} !~ {suffix}",
                    path.display()
                );
                assert!(path.is_absolute(), "{given}: {}", path.display());
            }
            (Err(e), Err(kind)) => {
                let debug = format!("{e:?}");
                assert!(debug.starts_with(kind), "{given}: {debug} is not {kind}");
            }
            (got, expected) => panic!("{given}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn paths_inside_the_project_resolve_and_every_way_out_is_refused() {
        let (_dir, project) = project();
        let access = FileAccess::new(&project);
        check(&access, "notes.md", Ok("project/notes.md"));
        check(&access, "./sub/../notes.md", Ok("project/notes.md"));
        check(&access, "sub/new/file.log", Ok("project/sub/new/file.log"));
        check(&access, "inner/x.md", Ok("project/sub/x.md"));
        check(
            &access,
            &project.join("notes.md").display().to_string(),
            Ok("project/notes.md"),
        );
        check(&access, "", Err("Empty"));
        check(&access, "a\0b", Err("Nul"));
        check(&access, "/etc/passwd", Err("Absolute"));
        check(&access, "../../../../etc/hostname", Err("Escapes"));
        check(&access, "sub/../../shared/a.md", Err("Escapes"));
        check(&access, "out/passwd", Err("LinkOut"));
        check(&access, "out/new-file", Err("LinkOut"));
    }

    #[test]
    fn allowed_directories_open_up_only_themselves() {
        let (dir, project) = project();
        let access = FileAccess::new(&project).with_allowed(&[PathBuf::from("../shared")]);
        check(&access, "../shared/a.md", Ok("shared/a.md"));
        let shared = dir.path().join("shared/a.md").display().to_string();
        check(&access, &shared, Ok("shared/a.md"));
        check(&access, "/etc/passwd", Err("Absolute"));
        check(&access, "../other/a.md", Err("Escapes"));
        let message = access.resolve("/etc/passwd").unwrap_err().to_string();
        assert!(message.contains("[files] allow"), "{message}");
    }
}
