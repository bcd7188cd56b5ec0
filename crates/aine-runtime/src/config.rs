//! `aine.toml`: storage, people and roles.
//!
//! ```toml
//! [storage]
//! database = ".aine/aine.db"   # relative to the directory holding aine.toml
//! busy_timeout_ms = 5000
//! synchronous = "full"        # or "normal": faster, but power loss may drop the last commits
//!
//! [people.alice]
//! name = "Alice Martin"
//!
//! [roles]
//! product-owner = ["alice"]
//! admin = ["ops"]              # admins may decide any gate
//!
//! [secrets]
//! patterns = ["tok_[a-z0-9]{32}"] # redacted from everything journaled (crate::redact)
//!
//! [models."openai/gpt-4.1-mini"]   # see aine_models::ModelConfig
//! provider = "openai_compatible"
//! api_key_env = "OPENAI_API_KEY"
//!
//! [files]
//! allow = ["../shared/meetings"]   # directories runs may read and write besides the project (crate::files)
//! max_read_bytes = 67108864        # largest source a run reads (bytes; default 64 MiB)
//!
//! [telemetry]                      # see aine-telemetry; OTEL_* variables override
//! otlp_endpoint = "http://localhost:4318"   # OTLP/HTTP base URL; spans go to /v1/traces
//! protocol = "http/protobuf"               # or "grpc" (then e.g. http://localhost:4317)
//! capture_content = false          # true: prompts and answers are recorded on spans (may hold personal data)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aine_store::Durability;
use aine_types::{PersonId, RoleName};

use crate::files::FileAccess;
use crate::redact::Redactor;
use serde::Deserialize;

/// The file name looked up in the project directory.
pub const CONFIG_FILE: &str = "aine.toml";
/// The default database path, relative to the project directory.
pub const DEFAULT_DATABASE: &str = ".aine/aine.db";
/// The role whose people may decide every gate.
pub const ADMIN_ROLE: &str = "admin";

/// Why `aine.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}: [secrets] {source}; fix the pattern (Rust `regex` syntax) or remove it")]
    Secrets {
        path: PathBuf,
        #[source]
        source: crate::redact::PatternError,
    },
    #[error(
        "{path}: role `{role}` names `{person}`, who is not in [people]; add [people.{person}] or remove the name"
    )]
    UnknownPersonInRole {
        path: PathBuf,
        role: RoleName,
        person: PersonId,
    },
}

/// A configured person.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Contact address, shown when a gate waits for this person.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    database: Option<PathBuf>,
    busy_timeout_ms: Option<u64>,
    synchronous: Option<Synchronous>,
}

/// `[files]`: directories besides the project directory that runs may read and write.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilesSection {
    #[serde(default)]
    allow: Vec<PathBuf>,
    max_read_bytes: Option<u64>,
}

/// `[secrets]`: extra patterns redacted from everything journaled (see [`crate::redact`]).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SecretsSection {
    #[serde(default)]
    patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    people: BTreeMap<PersonId, Person>,
    #[serde(default)]
    roles: BTreeMap<RoleName, Vec<PersonId>>,
    #[serde(default)]
    models: BTreeMap<String, aine_models::ModelConfig>,
    #[serde(default)]
    secrets: SecretsSection,
    #[serde(default)]
    files: FilesSection,
    #[serde(default)]
    telemetry: Telemetry,
}

/// `[telemetry]`: where OpenTelemetry traces go (read by `aine-telemetry`).
/// The OTLP transport (<https://opentelemetry.io/docs/specs/otel/protocol/exporter/>).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP/1.1, posted to `{endpoint}/v1/traces`.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC (HTTP/2) to `{endpoint}`.
    #[serde(rename = "grpc")]
    Grpc,
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// OTLP/HTTP base URL (e.g. `http://localhost:4318`); spans are posted to `/v1/traces`.
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` take precedence.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` (the default; port 4318) or `grpc` (port 4317), as the standard
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names them; `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` and
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` take precedence.
    #[serde(default)]
    pub protocol: Option<OtlpProtocol>,
    /// Record prompts and model answers on spans (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`), secrets redacted. Off by default: both may hold what
    /// stakeholders said.
    #[serde(default)]
    pub capture_content: bool,
}

/// The validated configuration of a project.
#[derive(Debug, Clone)]
pub struct Config {
    /// The project directory (where `aine.toml` is, or the working directory without one).
    pub project_dir: PathBuf,
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    /// The SQLite database file.
    pub database: PathBuf,
    /// How long to wait for another process's lock on the database.
    pub busy_timeout: Duration,
    /// Commit durability (`storage.synchronous`).
    pub durability: Durability,
    pub people: BTreeMap<PersonId, Person>,
    pub roles: BTreeMap<RoleName, Vec<PersonId>>,
    /// `[models."NAME"]` tables (over the shipped defaults; see `aine_models::resolve_models`).
    pub models: BTreeMap<String, aine_models::ModelConfig>,
    /// What is redacted before anything is journaled: builtin credential formats and the
    /// `[secrets] patterns` (see [`crate::redact`]).
    pub secrets: Redactor,
    /// `[telemetry]`.
    pub telemetry: Telemetry,
    /// Which files runs may read and write: the project directory and `[files] allow`.
    pub files: FileAccess,
}

impl Config {
    /// The configuration of a directory without `aine.toml`: default storage, nobody configured.
    pub fn defaults(project_dir: &Path) -> Self {
        Self {
            project_dir: project_dir.to_path_buf(),
            path: None,
            database: project_dir.join(DEFAULT_DATABASE),
            busy_timeout: Duration::from_millis(5000),
            durability: Durability::Full,
            people: BTreeMap::new(),
            roles: BTreeMap::new(),
            models: BTreeMap::new(),
            telemetry: Telemetry::default(),
            secrets: Redactor::builtin(),
            files: FileAccess::new(project_dir),
        }
    }

    /// Reads `project_dir/aine.toml` if it exists, else returns [`Config::defaults`].
    pub fn load_dir(project_dir: &Path) -> Result<Self, ConfigError> {
        let path = project_dir.join(CONFIG_FILE);
        if path.exists() {
            Self::load_file(&path)
        } else {
            Ok(Self::defaults(project_dir))
        }
    }

    /// Reads and validates one `aine.toml`; its directory is the project directory.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let project_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(path, &project_dir, &text)
    }

    /// Parses `text` (the contents of `path`).
    pub fn parse(path: &Path, project_dir: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|span| line_col(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_owned(),
            }
        })?;
        let secrets = Redactor::new(&raw.secrets.patterns).map_err(|e| ConfigError::Secrets {
            path: path.to_path_buf(),
            source: e,
        })?;
        for (role, people) in &raw.roles {
            if let Some(person) = people.iter().find(|p| !raw.people.contains_key(*p)) {
                return Err(ConfigError::UnknownPersonInRole {
                    path: path.to_path_buf(),
                    role: role.clone(),
                    person: person.clone(),
                });
            }
        }
        let database = raw
            .storage
            .database
            .map(|db| project_dir.join(db))
            .unwrap_or_else(|| project_dir.join(DEFAULT_DATABASE));
        Ok(Self {
            project_dir: project_dir.to_path_buf(),
            path: Some(path.to_path_buf()),
            database,
            busy_timeout: Duration::from_millis(raw.storage.busy_timeout_ms.unwrap_or(5000)),
            durability: match raw.storage.synchronous {
                Some(Synchronous::Normal) => Durability::Normal,
                Some(Synchronous::Full) | None => Durability::Full,
            },
            people: raw.people,
            roles: raw.roles,
            models: raw.models,
            secrets,
            telemetry: raw.telemetry,
            files: FileAccess::new(project_dir)
                .with_allowed(&raw.files.allow)
                .with_max_read_bytes(
                    raw.files
                        .max_read_bytes
                        .unwrap_or(crate::files::DEFAULT_MAX_READ_BYTES),
                ),
        })
    }

    /// The people holding `role` (empty if the role is not configured).
    pub fn people_in(&self, role: &RoleName) -> &[PersonId] {
        self.roles.get(role).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `person` holds `role` or is an admin.
    pub fn may_decide_for(&self, person: &PersonId, role: &RoleName) -> bool {
        let holds = |r: &str| {
            self.roles
                .iter()
                .any(|(name, people)| name.as_str() == r && people.contains(person))
        };
        holds(role.as_str()) || holds(ADMIN_ROLE)
    }

    /// Whether `person` may start runs (over the HTTP API): people holding at least one role
    /// may; people in `[people]` without a role may only read.
    pub fn may_start_runs(&self, person: &PersonId) -> bool {
        self.roles.values().any(|people| people.contains(person))
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("aine.toml"), Path::new("/p"), text)
    }

    #[test]
    fn people_roles_and_storage_are_read() {
        let c = parse(
            "[storage]\ndatabase = \"db/x.db\"\n[people.alice]\nname = \"Alice\"\n[people.ops]\n[roles]\npo = [\"alice\"]\nadmin = [\"ops\"]\n",
        )
        .unwrap();
        assert_eq!(c.database, Path::new("/p/db/x.db"));
        let po = RoleName::new("po").unwrap();
        assert_eq!(c.people_in(&po), [PersonId::new("alice").unwrap()]);
        assert!(c.may_decide_for(&PersonId::new("alice").unwrap(), &po));
        assert!(c.may_decide_for(&PersonId::new("ops").unwrap(), &po));
        assert!(!c.may_decide_for(&PersonId::new("bob").unwrap(), &po));
    }

    #[test]
    fn the_read_limit_is_configured_or_64_mib() {
        let c = parse("[files]\nmax_read_bytes = 1000\n").unwrap();
        assert_eq!(c.files.max_read_bytes(), 1000);
        let c = parse("").unwrap();
        assert_eq!(c.files.max_read_bytes(), 64 * 1024 * 1024);
        let e = parse("[files]\nmax_read_bytes = -1\n").unwrap_err();
        assert!(e.to_string().starts_with("aine.toml:2:18:"), "{e}");
    }

    #[test]
    fn errors_name_the_place_and_the_fix() {
        let e = parse("[people.alice]\n[roles]\npo = [\"bob\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("role `po` names `bob`, who is not in [people]"),
            "{e}"
        );
        let e = parse("[storage]\ndatabse = 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("aine.toml:2:1: unknown field `databse`"),
            "{e}"
        );
    }
}

/// The user config file: `$XDG_CONFIG_HOME/aine/config.toml`, else `$HOME/.config/aine/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("aine").join("config.toml"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserConfig {
    user: Option<PersonId>,
}

/// The identity named by `user = "..."` in the user config file, if the file exists and names
/// one. Whether that person exists in the project is checked where it is used.
pub fn user_from_user_config() -> Result<Option<PersonId>, ConfigError> {
    let Some(path) = user_config_path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Io { path, source }),
    };
    let parsed: UserConfig = toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|span| line_col(&text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Parse {
            path: path.clone(),
            line,
            col,
            message: e.message().to_owned(),
        }
    })?;
    Ok(parsed.user)
}
