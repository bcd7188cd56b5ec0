//! The rules: ids, severities and their documentation (`RULES.md` is generated from [`rules`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How serious a finding is; maps to SARIF `level` (`error`, `warning`, `note`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The spec breaks a hard rule (e.g. an item cites no source).
    Error,
    /// The item is likely ambiguous, unverifiable or badly formed.
    Warning,
    /// Worth a look; often a matter of house style.
    Note,
}

impl Severity {
    /// `error`, `warning` or `note` (the SARIF level names).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rule_ids {
    ($($variant:ident => $id:literal,)*) => {
        /// A rule's identity; displays and serialises as its dotted id (e.g. `ears.pattern`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId {
            $(
                #[doc = concat!("`", $id, "`")]
                $variant,
            )*
        }

        impl RuleId {
            /// Every rule, in documentation order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            /// The dotted id, e.g. `smell.loophole`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)*
                }
            }
        }
    };
}

rule_ids! {
    EarsNoShall => "ears.no-shall",
    EarsModal => "ears.modal",
    EarsMultipleShall => "ears.multiple-shall",
    EarsPattern => "ears.pattern",
    SmellSubjective => "smell.subjective",
    SmellAmbiguous => "smell.ambiguous",
    SmellLoophole => "smell.loophole",
    SmellOpenEnded => "smell.open-ended",
    SmellSuperlative => "smell.superlative",
    SmellComparative => "smell.comparative",
    SmellNegative => "smell.negative",
    SmellVaguePronoun => "smell.vague-pronoun",
    SmellIncompleteReference => "smell.incomplete-reference",
    SmellTotality => "smell.totality",
    QusWellFormed => "qus.well-formed",
    QusAtomic => "qus.atomic",
    QusMinimal => "qus.minimal",
    QusFullSentence => "qus.full-sentence",
    QusUnique => "qus.unique",
    QusUniform => "qus.uniform",
    TraceNoSource => "trace.no-source",
    TraceUnknownSource => "trace.unknown-source",
    TraceNoOverlap => "trace.no-overlap",
    ConflictQuantity => "conflict.quantity",
    MeasureNoUnit => "measure.no-unit",
}

impl RuleId {
    /// This rule's documentation.
    pub fn info(self) -> &'static RuleInfo {
        RULES
            .iter()
            .find(|info| info.id == self)
            .unwrap_or(&RULES[0])
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not a rule id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule id `{0}`")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRule(s.to_owned()))
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A rule's documentation: what it checks, where the rule comes from, and an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: RuleId,
    /// Short name (SARIF `name`), e.g. `SubjectiveLanguage`.
    pub name: &'static str,
    /// Default severity of its findings.
    pub severity: Severity,
    /// One sentence (SARIF `shortDescription`).
    pub summary: &'static str,
    /// What exactly is flagged and how (SARIF `fullDescription` / `help`).
    pub description: &'static str,
    /// The standard or paper, with section, the rule comes from.
    pub source: &'static str,
    /// An item the rule flags.
    pub bad: &'static str,
    /// The same item rewritten so the rule no longer fires.
    pub better: &'static str,
}

const ISO_5_2_7: &str = "ISO/IEC/IEEE 29148:2018 §5.2.7 (requirements language criteria); see also Femmer et al., \"Rapid quality assurance with Requirements Smells\", JSS 2017";
const QUS: &str = "Lucassen et al., \"Improving agile requirements: the Quality User Story framework and tool\", Requirements Engineering 21(3), 2016";
const EARS: &str = "Mavin et al., \"Easy Approach to Requirements Syntax (EARS)\", RE'09";

static RULES: [RuleInfo; 25] = [
    RuleInfo {
        id: RuleId::EarsNoShall,
        name: "NoShall",
        severity: Severity::Warning,
        summary: "A requirement states no obligation with `shall`.",
        description: "A requirement line (plain lines, spec JSON, Spec Kit FR, OpenSpec requirement, Kiro acceptance criterion) that contains none of `shall` or a weaker modal. Every EARS pattern ends in `the <system> shall <response>`. Spec Kit and OpenSpec files also accept `MUST` (RFC 2119 wording, as those formats prescribe).",
        source: EARS,
        bad: "Password reset via e-mail link.",
        better: "When a user requests a password reset, the system shall e-mail a single-use reset link.",
    },
    RuleInfo {
        id: RuleId::EarsModal,
        name: "WeakModal",
        severity: Severity::Warning,
        summary: "`should`, `may`, `will` or `must` used where EARS uses `shall`.",
        description: "A requirement without `shall` that uses `should`, `may`, `will` or `must` as its modal verb. `should` and `may` read as optional and `will` as a statement of fact; EARS (and ISO/IEC/IEEE 29148:2018 §5.2.4) use `shall` for binding requirements. The suggestion replaces the first such modal with `shall`.",
        source: "Mavin et al., RE'09; ISO/IEC/IEEE 29148:2018 §5.2.4 (requirement construct, `shall`)",
        bad: "The system should log every failed login.",
        better: "The system shall log every failed login.",
    },
    RuleInfo {
        id: RuleId::EarsMultipleShall,
        name: "MultipleShall",
        severity: Severity::Warning,
        summary: "More than one `shall` in one requirement (not atomic).",
        description: "A requirement with two or more `shall`s states two requirements; each should be verifiable on its own (singular, ISO/IEC/IEEE 29148:2018 §5.2.5). The span marks the second `shall`.",
        source: "Mavin et al., RE'09; ISO/IEC/IEEE 29148:2018 §5.2.5 (singular)",
        bad: "The system shall encrypt backups and the operator shall rotate keys monthly.",
        better: "The system shall encrypt backups. / The operator shall rotate the backup keys every 30 days.",
    },
    RuleInfo {
        id: RuleId::EarsPattern,
        name: "EarsPattern",
        severity: Severity::Warning,
        summary: "A `shall` statement that fits none of the five EARS patterns.",
        description: "Recognised patterns: ubiquitous `The <system> shall <response>`; state-driven `While <state>, …`; event-driven `When <trigger>, …`; optional-feature `Where <feature>, …`; unwanted-behaviour `If <trigger>, then …`; combinations of these (e.g. `While …, when …, …`), also in the upper-case `WHEN … THEN THE … SHALL` style of Kiro. Flags: a precondition introduced by another word (`After`, `Upon`, `During`, `In case`, …; the suggestion names the EARS keyword to use), `If` without `then`, a missing system name before `shall`, a missing response after it, and (spec JSON) a declared `pattern` that differs from the text.",
        source: EARS,
        bad: "After a payment fails, the system shall notify the customer.",
        better: "If a payment fails, then the system shall notify the customer.",
    },
    RuleInfo {
        id: RuleId::SmellSubjective,
        name: "SubjectiveLanguage",
        severity: Severity::Warning,
        summary: "Subjective language (e.g. `user friendly`, `easy to use`).",
        description: "Words whose truth depends on the reader's opinion (list: `data/subjective.txt`). Replace with a measurable criterion.",
        source: ISO_5_2_7,
        bad: "The report page shall be user friendly.",
        better: "The system shall let a first-time user export a report in at most 3 clicks.",
    },
    RuleInfo {
        id: RuleId::SmellAmbiguous,
        name: "AmbiguousAdverbsAdjectives",
        severity: Severity::Warning,
        summary: "Ambiguous adverbs and adjectives (e.g. `quickly`, `significant`, `several`).",
        description: "Adverbs and adjectives of degree, time or quantity with no measure (list: `data/ambiguous.txt`). State the value.",
        source: ISO_5_2_7,
        bad: "The system shall quickly display search results.",
        better: "The system shall display search results within 2 seconds.",
    },
    RuleInfo {
        id: RuleId::SmellLoophole,
        name: "Loophole",
        severity: Severity::Warning,
        summary: "Loopholes (e.g. `if possible`, `as appropriate`).",
        description: "Phrases that make a requirement optional at the implementer's discretion (list: `data/loophole.txt`). In user stories only the means (`I want …`) is checked: in the ends (`so that I can go back when needed`) the phrase qualifies the benefit, not the capability. State the condition, or drop the phrase.",
        source: ISO_5_2_7,
        bad: "The system shall cache results where possible.",
        better: "The system shall cache search results for 10 minutes.",
    },
    RuleInfo {
        id: RuleId::SmellOpenEnded,
        name: "OpenEndedTerms",
        severity: Severity::Warning,
        summary: "Open-ended, non-verifiable terms (e.g. `etc.`, `including but not limited to`).",
        description: "Terms that leave a list or scope open (list: `data/open-ended.txt`). Enumerate every element.",
        source: ISO_5_2_7,
        bad: "The system shall import CSV, XLSX, etc.",
        better: "The system shall import CSV and XLSX files.",
    },
    RuleInfo {
        id: RuleId::SmellSuperlative,
        name: "Superlative",
        severity: Severity::Warning,
        summary: "Superlatives (e.g. `best`, `fastest`, `optimal`).",
        description: "Superlatives cannot be verified without naming what is compared (list: `data/superlative.txt`; `most recent` and similar precise uses are excluded).",
        source: ISO_5_2_7,
        bad: "The system shall use the fastest route to the depot.",
        better: "The system shall choose the route with the shortest travel time reported by the routing service.",
    },
    RuleInfo {
        id: RuleId::SmellComparative,
        name: "Comparative",
        severity: Severity::Warning,
        summary: "Comparatives without a reference (e.g. `better`, `faster`).",
        description: "Comparative adjectives and adverbs (list: `data/comparative.txt`); `more`/`less` alone are not flagged because `more than 3` is precise.",
        source: ISO_5_2_7,
        bad: "The new search shall be faster.",
        better: "The search shall return results within 1 second for 95% of queries.",
    },
    RuleInfo {
        id: RuleId::SmellNegative,
        name: "NegativeStatement",
        severity: Severity::Warning,
        summary: "Negative statements (`not`, `cannot`, `never`…).",
        description: "Statements of what the system does not do are hard to verify (list: `data/negative.txt`). A negation inside a condition (`if the file is not valid`, `when a user cannot log in`) describes the situation, not a capability, and is not flagged. In user stories only the means (`I want …`) is checked: a negation in the benefit (`so that I don't have to …`) states a goal, not a capability.",
        source: ISO_5_2_7,
        bad: "The system shall not allow unauthenticated downloads.",
        better: "When an unauthenticated user requests a download, the system shall redirect to the login page.",
    },
    RuleInfo {
        id: RuleId::SmellVaguePronoun,
        name: "VaguePronoun",
        severity: Severity::Warning,
        summary: "A pronoun (`it`, `this`, `they`…) with no antecedent in the item.",
        description: "`it`, `they`, `them`, `this`, `that`, `these`, `those` at the start of a clause, with no content word before it in the same item (so the antecedent lies outside the item). `this`/`that`/`these`/`those` count only when used as pronouns (followed by a verb or the end).",
        source: ISO_5_2_7,
        bad: "When it is full, the system shall alert the operator.",
        better: "When the upload queue is full, the system shall alert the operator.",
    },
    RuleInfo {
        id: RuleId::SmellIncompleteReference,
        name: "IncompleteReference",
        severity: Severity::Warning,
        summary: "Incomplete references (`see above`, `TBD`, `as described`…).",
        description: "Placeholders and references that do not name their target (list: `data/incomplete-reference.txt`), including Spec Kit's `[NEEDS CLARIFICATION` marker. `as described` / `as specified` / `as defined` followed by `in …` are not flagged.",
        source: ISO_5_2_7,
        bad: "The system shall retain audit logs for TBD days.",
        better: "The system shall retain audit logs for 365 days.",
    },
    RuleInfo {
        id: RuleId::SmellTotality,
        name: "TermsOfTotality",
        severity: Severity::Note,
        summary: "Terms of totality (`all`, `always`, `never`, `every`, `none`…).",
        description: "Universal claims are rarely meant literally and cannot be verified exhaustively (list: `data/totality.txt`). Prefer `each` and state the scope.",
        source: "INCOSE Guide to Writing Requirements (2023), R26 absolutes and R32 universal qualification; listed with the ISO/IEC/IEEE 29148:2018 §5.2.7 smells by Femmer et al., JSS 2017",
        bad: "The system shall always respond.",
        better: "The system shall respond to each request within 2 seconds while it is in normal operation.",
    },
    RuleInfo {
        id: RuleId::QusWellFormed,
        name: "WellFormed",
        severity: Severity::Warning,
        summary: "A user story without a role (`As a …`) or a means (`I want …`).",
        description: "QUS syntactic criterion *well-formed*: a user story includes at least a role and a means. Recognised means indicators: `I want`, `I can`, `I need`, `I would like` / `I'd like`, `I am able` / `I'm able`, `I wish`, `I should/must be able`, `I expect`, `I require`.",
        source: QUS,
        bad: "Export the monthly report as PDF.",
        better: "As an accountant, I want to export the monthly report as PDF, so that I can file it.",
    },
    RuleInfo {
        id: RuleId::QusAtomic,
        name: "Atomic",
        severity: Severity::Warning,
        summary: "A user story asks for more than one feature.",
        description: "QUS syntactic criterion *atomic*: `and`, `or`, `&`, `+` joining two actions in the main clause of the means (a conjunction followed by a verb from `data/action-verbs.txt`, optionally after `to`/`then`/`also`/`I can`; verbs that are also common nouns count only after `to`/`can` or when an object follows). Conjunctions joining two objects (`name and address`) or inside a subordinate clause (`that …`, `when …`) are not flagged.",
        source: QUS,
        bad: "As a user, I want to upload photos and share them with friends.",
        better: "As a user, I want to upload photos. / As a user, I want to share a photo with friends.",
    },
    RuleInfo {
        id: RuleId::QusMinimal,
        name: "Minimal",
        severity: Severity::Warning,
        summary: "A user story carries more than role, means and ends.",
        description: "QUS syntactic criterion *minimal*: flags text in parentheses or brackets, examples (`e.g.`, `i.e.`), and extra sentences or notes after the story.",
        source: QUS,
        bad: "As a visitor, I want to search events (by date). Note: also by venue.",
        better: "As a visitor, I want to search events by date.",
    },
    RuleInfo {
        id: RuleId::QusFullSentence,
        name: "FullSentence",
        severity: Severity::Note,
        summary: "A user story that is not written as a full sentence.",
        description: "QUS pragmatic criterion *full sentence* (\"a user story is a well-formed full sentence\"). Checked typographically, since grammar needs a model: the story starts with an upper-case letter and ends with terminal punctuation (`.`, `!`, `?`).",
        source: QUS,
        bad: "as a user, I want to reset my password",
        better: "As a user, I want to reset my password.",
    },
    RuleInfo {
        id: RuleId::QusUnique,
        name: "Unique",
        severity: Severity::Warning,
        summary: "Duplicate or near-duplicate user stories in one file.",
        description: "QUS pragmatic criterion *unique*: exact duplicates (same text) and near-duplicates (same text after lower-casing, dropping punctuation and the articles `a`/`an`/`the`). The later story points to the earlier one.",
        source: QUS,
        bad: "As a user, I want to log in. / As a user I want to log in",
        better: "As a user, I want to log in.",
    },
    RuleInfo {
        id: RuleId::QusUniform,
        name: "Uniform",
        severity: Severity::Note,
        summary: "A user story that does not follow the file's majority template.",
        description: "QUS pragmatic criterion *uniform*: the template of a story is its role indicator (`As a`/`As an` count as one), its means indicator (`I want`, `I can`, …) and its ends indicator (`so that`, `in order to`, …) when it has one. Stories whose indicators differ from the most common ones in the file are flagged (files with fewer than 3 well-formed stories are not checked; a missing ends is not a template difference).",
        source: QUS,
        bad: "As a user, I can see my orders. (in a file of `As a …, I want …, so that …` stories)",
        better: "As a user, I want to see my orders, so that I can track deliveries.",
    },
    RuleInfo {
        id: RuleId::TraceNoSource,
        name: "NoSource",
        severity: Severity::Error,
        summary: "A spec item cites no source ref.",
        description: "Every spec item must cite at least one source ref (aine DESIGN.md, quality bars). Checked for spec JSON and the `spec.lint` builtin.",
        source: "aine DESIGN.md (every spec item cites at least one source ref); ISO/IEC/IEEE 29148:2018 §5.2.8 (traceability)",
        bad: "{\"id\": \"REQ-001\", \"text\": \"The system shall …\", \"sources\": []}",
        better: "{\"id\": \"REQ-001\", \"text\": \"The system shall …\", \"sources\": [\"ES2002a#41\"]}",
    },
    RuleInfo {
        id: RuleId::TraceUnknownSource,
        name: "UnknownSource",
        severity: Severity::Error,
        summary: "A spec item cites a source ref that does not exist.",
        description: "A cited source ref id is not among the sources given (the spec JSON's `sources` array, or the sentences passed to `spec.lint`). Not checked when no sources are given.",
        source: "aine DESIGN.md (every spec item cites at least one source ref that exists); ISO/IEC/IEEE 29148:2018 §5.2.8 (traceability)",
        bad: "\"sources\": [\"ES2002a#999\"] (no such sentence)",
        better: "\"sources\": [\"ES2002a#41\"]",
    },
    RuleInfo {
        id: RuleId::TraceNoOverlap,
        name: "NoOverlapWithSource",
        severity: Severity::Warning,
        summary: "A spec item shares no content word with the sources it cites.",
        description: "The item's content words (stop words and template words such as `shall`, `system`, `want` removed, simple suffix stemming) have nothing in common with the text of its cited sources: the citation is probably wrong or the item invented.",
        source: "aine DESIGN.md (trace checks); ISO/IEC/IEEE 29148:2018 §5.2.8 (traceability)",
        bad: "REQ-004 \"The system shall export invoices as PDF.\" citing \"We need a remote with a big red power button.\"",
        better: "REQ-004 \"The remote shall have a power button.\" citing the same sentence",
    },
    RuleInfo {
        id: RuleId::ConflictQuantity,
        name: "ConflictingQuantities",
        severity: Severity::Warning,
        summary: "Two requirements give the same subject and attribute different quantities.",
        description: "Two requirements with the same condition and system noun phrase (text before `shall`), the same measured attribute (content words between `shall` and the quantity, and the comparator such as `within`) and quantities of the same dimension (time, size, percent, rate, count of the same noun) whose values differ after unit conversion (`2 s` = `2000 ms`). A set of requirements must be consistent (ISO/IEC/IEEE 29148:2018 §5.2.6).",
        source: "ISO/IEC/IEEE 29148:2018 §5.2.6 (consistent set of requirements)",
        bad: "The system shall respond to a search within 2 seconds. / The system shall respond to a search within 5 seconds.",
        better: "The system shall respond to a search within 2 seconds.",
    },
    RuleInfo {
        id: RuleId::MeasureNoUnit,
        name: "NumberWithoutUnit",
        severity: Severity::Warning,
        summary: "A measured value without a unit.",
        description: "A number in a measuring context (after `within`, `under`, `less than`, `at least`, `up to`, `maximum`, `every`, `after`, `between`, or a measure noun such as `timeout`, `latency`, `size`) that is followed by no unit (`ms`, `s`, `%`, `MB`, …), no currency and no counted noun (`5 clicks`). Years, ids, versions and numbers joined to letters (`v2`, `3-5`, `10x10`) are skipped; the heuristic favours precision over recall.",
        source: "ISO/IEC/IEEE 29148:2018 §5.2.5 (verifiable) and §5.2.7; INCOSE Guide to Writing Requirements (2023), R6 units of measure",
        bad: "The system shall time out idle sessions after 30.",
        better: "The system shall time out idle sessions after 30 minutes.",
    },
];

/// Every rule with its documentation, in a stable order.
pub fn rules() -> &'static [RuleInfo] {
    &RULES
}

/// `RULES.md`: every rule with its id, severity, source, what it flags and an example.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# aine lint rules\n\n\
         <!-- Generated from `aine_lint::rules()` by `UPDATE_EXPECT=1 cargo test -p aine-lint --test output`; do not edit. -->\n\n\
         | id | name | severity | summary |\n|---|---|---|---|\n",
    );
    for r in rules() {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} |\n",
            r.id,
            r.id.as_str().replace('.', ""),
            r.name,
            r.severity,
            r.summary.replace('|', "\\|")
        ));
    }
    for r in rules() {
        out.push_str(&format!(
            "\n## {}\n\n**{}** ({}). {}\n\n{}\n\n*Source:* {}\n\n*Example:*\n\n- bad: `{}`\n- better: `{}`\n",
            r.id, r.name, r.severity, r.summary, r.description, r.source, r.bad, r.better
        ));
    }
    out
}
