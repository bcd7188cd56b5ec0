//! Output formats: text, JSON and SARIF 2.1.0.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::finding::Finding;
use crate::rule::{RuleInfo, Severity};

fn location(f: &Finding) -> String {
    let file = f.file.display().to_string();
    match (f.line, &f.item) {
        (0, Some(item)) if file.is_empty() => item.clone(),
        (0, Some(item)) => format!("{file}#{item}"),
        (0, None) => file,
        (line, _) => format!("{file}:{line}:{}", f.col),
    }
}

/// One finding per line, `file:line:col rule-id message`, followed by `  suggestion: …` when
/// there is one. Items without a line (from [`crate::lint_draft`]) show as `file#item`.
pub fn to_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = write!(out, "{} {} {}", location(f), f.rule, f.message);
        if f.line > 0
            && let Some(item) = &f.item
        {
            let _ = write!(out, " [{item}]");
        }
        out.push('\n');
        if let Some(s) = &f.suggestion {
            let _ = writeln!(out, "  suggestion: {s}");
        }
    }
    out
}

/// `{"findings": [Finding…], "counts": {"error": n, "warning": n, "note": n}, "by_rule": {id: n}}`.
/// The shape is also the `spec.lint` builtin's output.
pub fn to_json(findings: &[Finding]) -> Value {
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut counts = [0usize; 3];
    for f in findings {
        *by_rule.entry(f.rule.as_str()).or_default() += 1;
        counts[match f.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Note => 2,
        }] += 1;
    }
    json!({
        "findings": findings,
        "counts": { "error": counts[0], "warning": counts[1], "note": counts[2] },
        "by_rule": by_rule,
    })
}

/// A relative path as a URI reference: `/` separators, everything outside RFC 3986's
/// unreserved characters percent-encoded.
fn path_uri(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn sarif_rule(r: &RuleInfo) -> Value {
    let category = r.id.as_str().split('.').next().unwrap_or_default();
    json!({
        "id": r.id.as_str(),
        "name": r.name,
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": r.description },
        "help": {
            "text": format!("{}\nSource: {}\nBad: {}\nBetter: {}", r.description, r.source, r.bad, r.better),
            "markdown": format!("{}\n\n*Source:* {}\n\n- bad: `{}`\n- better: `{}`", r.description, r.source, r.bad, r.better),
        },
        "defaultConfiguration": { "level": r.severity.as_str() },
        "properties": { "source": r.source, "tags": [category] },
    })
}

fn sarif_result(f: &Finding, rules: &[RuleInfo]) -> Value {
    let mut text = f.message.clone();
    if let Some(s) = &f.suggestion {
        text.push_str("; suggestion: ");
        text.push_str(s);
    }
    let mut result = json!({
        "ruleId": f.rule.as_str(),
        "level": f.severity.as_str(),
        "message": { "text": text },
    });
    if let Some(index) = rules.iter().position(|r| r.id == f.rule) {
        result["ruleIndex"] = json!(index);
    }
    let mut loc = serde_json::Map::new();
    if !f.file.as_os_str().is_empty() {
        let mut physical = json!({ "artifactLocation": { "uri": path_uri(&f.file) } });
        if f.line > 0 {
            let mut region = json!({ "startLine": f.line, "startColumn": f.col.max(1) });
            if let Some((start, end)) = f.span {
                region["endColumn"] = json!(f.col.max(1) + end.saturating_sub(start));
            }
            physical["region"] = region;
        }
        loc.insert("physicalLocation".into(), physical);
    }
    if let Some(item) = &f.item {
        loc.insert(
            "logicalLocations".into(),
            json!([{ "name": item, "kind": "object" }]),
        );
    }
    if !loc.is_empty() {
        result["locations"] = json!([Value::Object(loc)]);
    }
    if let Some(s) = &f.suggestion {
        result["properties"] = json!({ "suggestion": s });
    }
    result
}

/// A SARIF 2.1.0 log with one run: `tool.driver.rules` carries each rule's id, name,
/// descriptions, help (with its source and example) and default level; each result has the
/// rule id and index, level, message and location (region columns in Unicode code points).
pub fn to_sarif(findings: &[Finding], rules: &[RuleInfo]) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "aine-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(sarif_rule).collect::<Vec<_>>(),
            } },
            "columnKind": "unicodeCodePoints",
            "results": findings.iter().map(|f| sarif_result(f, rules)).collect::<Vec<_>>(),
        }],
    })
}
