//! The parsed input: a [`Document`] of [`Item`]s with their positions.

use std::path::PathBuf;

use aine_spec::EarsPattern;
use serde::{Deserialize, Serialize};

/// The input formats `aine lint` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// aine's `requirements.json` ([`aine_spec::Draft`]), optionally with a top-level
    /// `"sources"` array of source refs (or sentences with their source ref) for trace checks.
    AineSpec,
    /// One requirement per line; blank lines and `#` comments skipped; an optional leading id
    /// (`REQ-1:`) and list marker (`-`, `*`, `1.`) are stripped.
    RequirementLines,
    /// One user story per line (`As a …, I want …, so that …`); blank lines and `#` comments skipped.
    StoryLines,
    /// GitHub Spec Kit `spec.md`: `- **FR-001**: System MUST …` lines and
    /// `**Given** … **When** … **Then** …` acceptance scenarios.
    SpecKit,
    /// OpenSpec `spec.md`: `### Requirement: Name` with SHALL/MUST text, `#### Scenario: …` with
    /// `- **WHEN** …` / `- **THEN** …` steps.
    OpenSpec,
    /// Kiro `requirements.md`: `### Requirement N`, `**User Story:** As a …`,
    /// `#### Acceptance Criteria` with numbered `WHEN … THEN … SHALL …` lines.
    Kiro,
    /// aine's own published `requirements.md` (`spec.publish`): the same items, sources and
    /// declared patterns as its `requirements.json`.
    AineMarkdown,
}

impl InputFormat {
    /// Every format.
    pub const ALL: [InputFormat; 7] = [
        InputFormat::AineSpec,
        InputFormat::RequirementLines,
        InputFormat::StoryLines,
        InputFormat::SpecKit,
        InputFormat::OpenSpec,
        InputFormat::Kiro,
        InputFormat::AineMarkdown,
    ];

    /// The name used on the command line (`aine-spec`, `requirement-lines`, `story-lines`,
    /// `spec-kit`, `open-spec`, `kiro`, `aine-markdown`).
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::AineSpec => "aine-spec",
            InputFormat::RequirementLines => "requirement-lines",
            InputFormat::StoryLines => "story-lines",
            InputFormat::SpecKit => "spec-kit",
            InputFormat::OpenSpec => "open-spec",
            InputFormat::Kiro => "kiro",
            InputFormat::AineMarkdown => "aine-markdown",
        }
    }

    /// Parses a name from [`InputFormat::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the format's own convention makes `MUST` a binding keyword like `shall`
    /// (Spec Kit and OpenSpec prescribe RFC 2119 `MUST`/`SHALL`).
    pub fn must_is_normative(self) -> bool {
        matches!(self, InputFormat::SpecKit | InputFormat::OpenSpec)
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an item is; decides which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A requirement statement: EARS rules, smells, conflicts, units.
    Requirement,
    /// A user story: QUS rules and smells.
    UserStory,
    /// An acceptance criterion or scenario step (Given/When/Then): smells and units only.
    Scenario,
}

/// One lintable statement of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The item's id where the format has one (`REQ-003`, `FR-001`, `1.2` for Kiro criterion 2
    /// of requirement 1, `US-001/AC1.when`).
    pub id: Option<String>,
    pub kind: ItemKind,
    /// The text that is linted. Markup (`**`, backticks) is blanked to spaces, so byte offsets
    /// into `text` are byte offsets into the line after `byte_in_line`.
    pub text: String,
    /// 1-based line of the text; 0 when the item has no position in a file (`lint_draft`).
    pub line: usize,
    /// Byte offset of `text` within its line.
    pub byte_in_line: usize,
    /// 1-based column (in characters) of `text` within its line; 0 when `line` is 0.
    pub col: usize,
    /// Whether offsets in `text` map 1:1 onto the line (false for JSON strings with escapes).
    pub exact: bool,
    /// Cited source ref ids, for formats that carry them (spec JSON); `None` elsewhere.
    pub sources: Option<Vec<String>>,
    /// The EARS pattern the spec JSON declares for a requirement.
    pub declared_pattern: Option<EarsPattern>,
}

/// A source the items may cite: its id and, when known, its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    pub id: String,
    pub text: Option<String>,
}

/// A parsed input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub path: PathBuf,
    pub format: InputFormat,
    pub items: Vec<Item>,
    /// The sources the items may cite; `None` when the input gives none (then only
    /// `trace.no-source` is checked, and only for formats whose items cite sources).
    pub sources: Option<Vec<SourceText>>,
}
