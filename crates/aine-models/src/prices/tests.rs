use std::str::FromStr;

use super::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn usage(input: u64, output: u64, cached: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
    }
}

/// `(provider, model, input, output, cached_input)` from the bundled table.
fn check_price(provider: &str, model: &str, expected: Option<(&str, &str, Option<&str>)>) {
    let got = PriceTable::bundled().price(provider, model);
    let got = got.as_ref().map(|p| (p.input, p.output, p.cached_input));
    let expected = expected.map(|(i, o, c)| (d(i), d(o), c.map(d)));
    assert_eq!(got, expected, "{provider} {model}");
}

#[test]
fn bundled_table_parses() {
    let (providers, models) = PriceTable::bundled().len();
    assert!(
        providers >= 30 && models >= 1000,
        "{providers} providers, {models} models"
    );
}

#[test]
fn lookups() {
    check_price("openai", "gpt-4.1-mini", Some(("0.4", "1.6", Some("0.1"))));
    check_price(
        "openai",
        "gpt-4.1-mini-2025-04-14",
        Some(("0.4", "1.6", Some("0.1"))),
    );
    check_price("openai", "gpt-4-1106-preview", Some(("10", "30", None)));
    check_price(
        "together",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        Some(("0.9", "0.9", None)),
    );
    check_price(
        "anthropic",
        "claude-haiku-4-5",
        Some(("1", "5", Some("0.1"))),
    );
    // provider by `provider_match` (OpenTelemetry names), then model rules
    check_price(
        "azure.ai.openai",
        "gpt-4o-mini",
        Some(("0.15", "0.6", Some("0.075"))),
    );
    // no such provider: found by the providers' `model_match`
    check_price(
        "replay",
        "claude-haiku-4-5-20251001",
        Some(("1", "5", Some("0.1"))),
    );
    // case-sensitive, as the table is
    check_price("together", "mistralai/mixtral-8x7b-instruct-v0.1", None);
    check_price("openai", "no-such-model", None);
    // azure falls back to openai's models
    check_price("azure", "gpt-4.1-mini", Some(("0.4", "1.6", Some("0.1"))));
}

#[test]
fn tiers_apply_to_the_whole_request() {
    let sonnet = PriceTable::bundled()
        .price("anthropic", "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(sonnet.tiers.len(), 1);
    assert_eq!(cost(&sonnet, &usage(100_000, 0, 0)), d("0.3"));
    // 200k input tokens: the whole request at $6/M input and $22.5/M output
    assert_eq!(cost(&sonnet, &usage(200_000, 1_000, 0)), d("1.2225"));
}

#[test]
fn history_by_date() {
    let table = PriceTable::bundled();
    let old = table
        .price_on("openai", "o3", "2025-01-01".parse().unwrap())
        .unwrap();
    let new = table
        .price_on("openai", "o3", "2025-06-10".parse().unwrap())
        .unwrap();
    assert_eq!((old.input, new.input), (d("10"), d("2")));
    assert_eq!(
        table.price("openai", "o3").unwrap().input,
        d("2"),
        "newest by default"
    );
    // time-of-day windows: the higher (peak) price, so costs err high
    assert_eq!(
        table.price("deepseek", "deepseek-chat").unwrap().input,
        d("0.27")
    );
}

#[test]
fn exact_costs() {
    let mini = ModelPrice::flat(d("0.4"), d("1.6"), Some(d("0.1")));
    assert_eq!(cost(&mini, &usage(1_000, 500, 0)), d("0.0012"));
    assert_eq!(cost(&mini, &usage(1_000, 500, 400)), d("0.00108")); // 600×0.4 + 400×0.1 + 500×1.6
    assert_eq!(cost(&mini, &usage(1, 0, 0)), d("0.0000004"));
    assert_eq!(cost(&mini, &Usage::default()), Decimal::ZERO);
    // cached tokens above the input count are clamped
    assert_eq!(cost(&mini, &usage(10, 0, 99)), d("0.000001"));
    // no cached price: cached tokens pay the input price
    let plain = ModelPrice::flat(d("3"), d("15"), None);
    assert_eq!(cost(&plain, &usage(1_000_000, 0, 500_000)), d("3"));
    assert_eq!(plain.worst_case(2_000, 1_000), d("0.021"));
    // absurd numbers saturate instead of panicking
    let huge = ModelPrice::flat(Decimal::MAX, Decimal::MAX, None);
    assert_eq!(cost(&huge, &usage(u64::MAX, u64::MAX, 0)), Decimal::MAX);
    assert_eq!(
        ModelPrice::FREE.worst_case(1_000_000, 1_000_000),
        Decimal::ZERO
    );
}

#[test]
fn config_prices() {
    let table = PriceTable::bundled();
    let mut config = ModelConfig::new("openai/gpt-4.1-mini", ProviderKind::OpenaiCompatible);
    assert_eq!(table.price_for(&config).unwrap().input, d("0.4"));
    config.price = Some(ModelPrice::flat(d("1"), d("2"), None));
    assert_eq!(
        table.price_for(&config).unwrap().input,
        d("1"),
        "override wins"
    );
    let local = ModelConfig::new("local/gemma-3-270m", ProviderKind::Local);
    assert_eq!(table.price_for(&local), Some(ModelPrice::FREE));
    let replay = ModelConfig::new("replay/x", ProviderKind::Replay);
    assert_eq!(table.price_for(&replay), Some(ModelPrice::FREE));
}

#[test]
fn bad_tables() {
    assert!(matches!(
        PriceTable::from_json("{"),
        Err(PriceError::Json(_))
    ));
    let bad_regex =
        r#"[{"id":"p","models":[{"id":"m","match":{"regex":"("},"prices":{"input_mtok":1}}]}]"#;
    assert!(matches!(
        PriceTable::from_json(bad_regex),
        Err(PriceError::Regex { .. })
    ));
    let tiny = r#"[{"id":"p","models":[{"id":"m","match":{"equals":"m"},"prices":{"input_mtok":1e-05,"output_mtok":2}}]}]"#;
    let table = PriceTable::from_json(tiny).unwrap();
    assert_eq!(table.price("p", "m").unwrap().input, d("0.00001"));
}
