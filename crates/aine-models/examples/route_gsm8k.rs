//! Routing on recorded answers: RouteLLM's GSM8K file, route [Mixtral-8x7B -> GPT-4].
//!
//! ```text
//! cargo run --release -p aine-models --example route_gsm8k [-- PATH/gsm8k_responses.csv]
//! ```
//!
//! Both models answer through [`Replay`] (the recorded real responses; Ong et al., "RouteLLM",
//! 2024). The route asks Mixtral first and escalates to GPT-4 when Mixtral's answer breaks the
//! contract or is unsure:
//!
//! - **contract**: the GSM8K answer format (Cobbe et al., "Training Verifiers to Solve Math Word
//!   Problems", 2021): the answer ends its reasoning with a line `#### N`, N a number (sign,
//!   `$`, thousands commas and decimals allowed). No parseable final number = violation.
//! - **unsure**: the answer is the `{"unsure": {...}}` object, or hedges ("not sure", "cannot be
//!   determined", "not enough information", ...).
//!
//! Correctness is RouteLLM's grading in the file. Cost: tokens from the replay usage
//! (`estimate_tokens`; the file has no token counts; input is the question alone, without the
//! evaluation's few-shot or chat-template tokens, so absolute costs are lower bounds) at the
//! bundled genai-prices table: Mixtral 8x7B Instruct at `together` (the file's exact model id),
//! GPT-4-1106-preview at `openai` (its `gpt-4-turbo` entry).

use std::error::Error;
use std::path::PathBuf;
use std::sync::LazyLock;

use aine_models::{
    ChatModel, ChatRequest, Gsm8kModel, Message, ModelPrice, PriceTable, Replay, cost,
    extract_json, load_gsm8k,
};
use regex::Regex;
use rust_decimal::Decimal;

/// `#### N` as GSM8K writes final answers.
static FINAL_NUMBER: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r"####\s*\$?\s*(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"));
static HEDGE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(not sure|unsure|cannot be determined|can't be determined|not enough information|insufficient information|i don't know|impossible to determine)\b",
    )
});

/// The final number of a GSM8K-format answer, if it keeps the contract.
fn final_number(text: &str) -> Option<Decimal> {
    let re = FINAL_NUMBER.as_ref().ok()?;
    let caps = re.captures_iter(text).last()?;
    caps.get(1)?.as_str().replace(',', "").parse().ok()
}

fn unsure(text: &str) -> bool {
    let json_unsure = extract_json(text).is_ok_and(|v| v.get("unsure").is_some());
    json_unsure || HEDGE.as_ref().is_ok_and(|re| re.is_match(text))
}

#[derive(Default)]
struct Tally {
    correct: u32,
    usd: Decimal,
    strong_calls: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/routellm/gsm8k_responses.csv")
        });
    let records = load_gsm8k(&path)?;
    let cheap = Replay::from_gsm8k(&path, Gsm8kModel::Mixtral8x7b)?;
    let strong = Replay::from_gsm8k(&path, Gsm8kModel::Gpt4_1106)?;

    let table = PriceTable::bundled();
    let price = |provider: &str, model: &str| -> Result<(ModelPrice, String), String> {
        let entry = table
            .entry(provider, model, None)
            .ok_or(format!("no price for {provider}/{model}"))?;
        let shown = format!(
            "{provider}/{model} -> genai-prices {}/{}: ${} in, ${} out per 1M tokens",
            entry.provider_id, entry.model_id, entry.price.input, entry.price.output
        );
        Ok((entry.price, shown))
    };
    let (cheap_price, cheap_shown) = price("together", Gsm8kModel::Mixtral8x7b.column())?;
    let (strong_price, strong_shown) = price("openai", Gsm8kModel::Gpt4_1106.column())?;

    let (mut mixtral, mut gpt4, mut route, mut oracle) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let (mut escalated, mut violations, mut unsures, mut needless, mut kept_wrong) =
        (0u32, 0u32, 0u32, 0u32, 0u32);
    let (mut cheap_tokens, mut strong_tokens) = ((0u64, 0u64), (0u64, 0u64));
    for record in &records {
        let request = ChatRequest {
            messages: vec![Message::user(record.prompt.clone())],
            output_schema: None,
            max_output_tokens: 1024,
            temperature: 0.0,
        };
        let cheap_answer = cheap.complete(&request).await?;
        let strong_answer = strong.complete(&request).await?;
        let cheap_usd = cost(&cheap_price, &cheap_answer.usage);
        let strong_usd = cost(&strong_price, &strong_answer.usage);
        cheap_tokens.0 += cheap_answer.usage.input_tokens;
        cheap_tokens.1 += cheap_answer.usage.output_tokens;
        strong_tokens.0 += strong_answer.usage.input_tokens;
        strong_tokens.1 += strong_answer.usage.output_tokens;
        let (m_ok, g_ok) = (
            u32::from(record.mixtral_correct),
            u32::from(record.gpt4_correct),
        );

        mixtral.correct += m_ok;
        mixtral.usd += cheap_usd;
        gpt4.correct += g_ok;
        gpt4.usd += strong_usd;
        gpt4.strong_calls += 1;

        let violation = final_number(&cheap_answer.text).is_none();
        let is_unsure = !violation && unsure(&cheap_answer.text);
        route.usd += cheap_usd;
        if violation || is_unsure {
            escalated += 1;
            violations += u32::from(violation);
            unsures += u32::from(is_unsure);
            needless += m_ok;
            route.correct += g_ok;
            route.usd += strong_usd;
            route.strong_calls += 1;
        } else {
            route.correct += m_ok;
            kept_wrong += 1 - m_ok;
        }

        // Oracle: knows in advance which model is right; calls the cheapest correct one.
        if record.mixtral_correct || !record.gpt4_correct {
            oracle.correct += m_ok;
            oracle.usd += cheap_usd;
        } else {
            oracle.correct += 1;
            oracle.usd += strong_usd;
            oracle.strong_calls += 1;
        }
    }

    let n = records.len() as u32;
    let share = Decimal::from(route.strong_calls) / Decimal::from(n);
    let random = Tally {
        // Expected value of sending the same share of questions to GPT-4 at random.
        correct: 0,
        usd: mixtral.usd + share * gpt4.usd,
        strong_calls: route.strong_calls,
    };
    let random_accuracy = (Decimal::ONE - share) * Decimal::from(mixtral.correct)
        / Decimal::from(n)
        + share * Decimal::from(gpt4.correct) / Decimal::from(n);

    println!("RouteLLM GSM8K, {n} questions: {}", path.display());
    println!("prices: {cheap_shown}");
    println!("        {strong_shown}");
    println!(
        "tokens (estimate_tokens): Mixtral {} in / {} out, GPT-4 {} in / {} out",
        cheap_tokens.0, cheap_tokens.1, strong_tokens.0, strong_tokens.1
    );
    println!();
    println!(
        "| strategy | accuracy | cost (USD) | USD per 1k questions | cost vs GPT-4 | GPT-4 calls |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, accuracy: Decimal, t: &Tally| {
        println!(
            "| {name} | {:.1}% | {:.4} | {:.4} | {:.1}% | {} |",
            accuracy * Decimal::ONE_HUNDRED,
            t.usd,
            t.usd * Decimal::from(1000) / Decimal::from(n),
            t.usd * Decimal::ONE_HUNDRED / gpt4.usd,
            t.strong_calls
        );
    };
    let acc = |t: &Tally| Decimal::from(t.correct) / Decimal::from(n);
    row("always GPT-4-1106", acc(&gpt4), &gpt4);
    row("always Mixtral-8x7B", acc(&mixtral), &mixtral);
    row(
        "route [Mixtral -> GPT-4] on contract/unsure",
        acc(&route),
        &route,
    );
    row(
        "random, same GPT-4 share (expected)",
        random_accuracy,
        &random,
    );
    row("per-question oracle", acc(&oracle), &oracle);
    println!();
    println!(
        "route: {escalated} escalations ({violations} contract violations, {unsures} unsure); \
         {needless} of them had a correct Mixtral answer; {kept_wrong} wrong Mixtral answers kept the contract"
    );
    Ok(())
}
