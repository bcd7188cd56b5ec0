//! How a conversation becomes text for a *base* (not instruction-tuned) model.
//!
//! gemma-3-270m as shipped is the pre-trained model, so it has no chat template to follow; it
//! continues documents. The conversation is rendered as a plain Markdown-like transcript that
//! few-shot examples (earlier `user`/`assistant` pairs) teach by pattern:
//!
//! ```text
//! <system message>
//!
//! ### User
//! <user message>
//!
//! ### Assistant
//! <assistant message>
//!
//! ### User
//! <user message>
//!
//! ### Assistant
//! ```
//!
//! The model's answer is what follows the final `### Assistant` line. Without an output schema
//! generation stops at the next `\n### ` header (the model starting another turn) or at an
//! end-of-generation token. Message text is tokenized with special-token parsing off, so text
//! such as `<end_of_turn>` inside a message stays text and cannot inject control tokens.

use aine_models::{Message, Role};

/// The header line that opens a turn.
fn header(role: Role) -> Option<&'static str> {
    match role {
        Role::System => None,
        Role::User => Some("### User\n"),
        Role::Assistant => Some("### Assistant\n"),
    }
}

/// Where a plain (schema-less) answer ends: the model opening the next turn.
pub(crate) const STOP: &str = "\n### ";

/// Render `messages` as the transcript above, ending with the open `### Assistant` turn.
pub(crate) fn render(messages: &[Message]) -> String {
    let mut out = String::with_capacity(messages.iter().map(|m| m.content.len() + 16).sum());
    for message in messages {
        if let Some(h) = header(message.role) {
            out.push_str(h);
        }
        out.push_str(message.content.trim_end());
        out.push_str("\n\n");
    }
    out.push_str("### Assistant\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(messages: &[Message], expected: &str) {
        assert_eq!(render(messages), expected);
    }

    #[test]
    fn renders_few_shot_transcripts() {
        check(&[], "### Assistant\n");
        check(&[Message::user("hi")], "### User\nhi\n\n### Assistant\n");
        check(
            &[
                Message::system("Write a title.\n"),
                Message::user("a"),
                Message::assistant("{\"t\":\"A\"}"),
                Message::user("b"),
            ],
            "Write a title.\n\n### User\na\n\n### Assistant\n{\"t\":\"A\"}\n\n### User\nb\n\n### Assistant\n",
        );
    }
}
