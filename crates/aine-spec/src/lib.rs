//! The spec the requirements workflow produces (`spec/requirements.json`), and the source refs
//! every item cites. Shared by ingest/detect/draft/publish (`aine-sdlc`) and the linter
//! (`aine-lint`). Pure data: no I/O.
//!
//! Terms: EARS patterns after Mavin et al., "EARS (Easy Approach to Requirements Syntax)",
//! RE'09; user stories in Connextra form ("As a …, I want …, so that …"); acceptance criteria
//! in Given/When/Then (Gherkin) form.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the `requirements.json` format; bumped on incompatible change.
pub const SPEC_VERSION: &str = "1.0";

/// A stable pointer into an input: which file, who spoke, which turn and sentence, and the byte
/// span of the sentence in the *original* file (markers such as `{vocalsound}` removed from the
/// text still count in the offsets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceRef {
    /// Stable id, `<file stem>#<sentence index>`, e.g. `ES2002a#41`.
    pub id: String,
    /// Path of the input as given to the run.
    pub file: String,
    /// Speaker, for transcripts and emails (the sender); `None` for plain notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// 0-based speaker turn (transcripts) or paragraph (text), if the format has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// 0-based sentence index within the file.
    pub sentence: u32,
    /// Byte offset of the sentence's first byte in the original file.
    pub start: u64,
    /// Byte offset one past the sentence's last byte in the original file.
    pub end: u64,
}

/// One sentence of an input with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sentence {
    /// The cleaned text (markers removed, whitespace collapsed).
    pub text: String,
    pub source: SourceRef,
}

/// Requirement categories: functional, or one of the PROMISE NFR classes
/// (Cleland-Huang et al., tera-PROMISE NFR data set).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Functional,
    Usability,
    Security,
    Performance,
    Operational,
    LookAndFeel,
    Scalability,
    Availability,
    Maintainability,
    Legal,
    FaultTolerance,
    Portability,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 12] = [
        Category::Functional,
        Category::Usability,
        Category::Security,
        Category::Performance,
        Category::Operational,
        Category::LookAndFeel,
        Category::Scalability,
        Category::Availability,
        Category::Maintainability,
        Category::Legal,
        Category::FaultTolerance,
        Category::Portability,
    ];

    /// The PROMISE NFR label (`F`, `US`, `SE`, `PE`, `O`, `LF`, `SC`, `A`, `MN`, `L`, `FT`, `PO`).
    pub fn promise_label(self) -> &'static str {
        match self {
            Category::Functional => "F",
            Category::Usability => "US",
            Category::Security => "SE",
            Category::Performance => "PE",
            Category::Operational => "O",
            Category::LookAndFeel => "LF",
            Category::Scalability => "SC",
            Category::Availability => "A",
            Category::Maintainability => "MN",
            Category::Legal => "L",
            Category::FaultTolerance => "FT",
            Category::Portability => "PO",
        }
    }

    /// Parses a PROMISE label.
    pub fn from_promise_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.promise_label() == label)
    }
}

/// A candidate requirement sentence found by the `requirements.detect` builtin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub text: String,
    pub category: Category,
    /// 0.0 to 1.0.
    pub confidence: f64,
    /// The cues that fired (e.g. `modal:should`, `desire:want`, `constraint:under`).
    pub cues: Vec<String>,
    /// Topic label used to group candidates for drafting.
    pub topic: String,
    pub source: SourceRef,
}

/// The five EARS patterns (Mavin et al., RE'09).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EarsPattern {
    /// `The <system> shall <response>.`
    Ubiquitous,
    /// `While <precondition>, the <system> shall <response>.`
    StateDriven,
    /// `When <trigger>, the <system> shall <response>.`
    EventDriven,
    /// `Where <feature is included>, the <system> shall <response>.`
    OptionalFeature,
    /// `If <trigger>, then the <system> shall <response>.`
    UnwantedBehaviour,
}

/// A requirement in EARS form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Requirement {
    /// `REQ-001`, ...
    pub id: String,
    /// The EARS statement.
    pub text: String,
    pub pattern: EarsPattern,
    pub category: Category,
    /// Ids of the source refs (`SourceRef::id`) this requirement comes from; at least one.
    pub sources: Vec<String>,
}

/// One Given/When/Then acceptance criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AcceptanceCriterion {
    pub given: String,
    pub when: String,
    pub then: String,
}

/// A user story: "As a <role>, I want <goal>, so that <benefit>."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserStory {
    /// `US-001`, ...
    pub id: String,
    /// The story sentence.
    pub text: String,
    pub role: String,
    pub goal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benefit: Option<String>,
    pub acceptance_criteria: Vec<AcceptanceCriterion>,
    /// Ids of the source refs this story comes from; at least one.
    pub sources: Vec<String>,
}

/// A question for stakeholders: something the sources leave open or contradictory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpenQuestion {
    pub id: String,
    pub text: String,
    /// Spec item ids the question concerns.
    pub items: Vec<String>,
    pub sources: Vec<String>,
}

/// The drafted spec: what the draft step outputs and a gate's `edit` replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Draft {
    pub requirements: Vec<Requirement>,
    pub user_stories: Vec<UserStory>,
    #[serde(default)]
    pub open_questions: Vec<OpenQuestion>,
}
