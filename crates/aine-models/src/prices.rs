//! Prices per token and exact decimal cost.
//!
//! The bundled table is `data/genai-prices_data.json` from Pydantic's genai-prices
//! (<https://github.com/pydantic/genai-prices>, MIT licence, © Pydantic Services Inc.; the
//! notice is `data/genai-prices_LICENSE`). What this module reads from it:
//!
//! - providers by `id`, then by `provider_match`, then (no provider matched) by `model_match`;
//!   models by their `match` rule (`equals`, `starts_with`, `ends_with`, `contains`, `regex`,
//!   `or`, `and`; case-sensitive), first match wins, then the provider's
//!   `fallback_model_providers`, as the genai-prices libraries do;
//! - `input_mtok`, `output_mtok`, `cache_read_mtok` in USD per million tokens, flat or tiered
//!   (`{base, tiers: [{start, price}]}`: a request whose input tokens reach `start` pays the tier
//!   price for *all* its tokens, as genai-prices computes it);
//! - price histories (`[{prices}, {constraint: {start_date}, prices}]`): [`PriceTable::price`]
//!   gives the newest prices, [`PriceTable::price_on`] the prices in force on a date.
//!
//! Not handled, on purpose: `cache_write_mtok` ([`Usage`] has no cache-write count; aine
//! requests no prompt caching, so none occur), audio token prices, per-request prices
//! (`requests_kcount`), and time-of-day windows (DeepSeek's off-peak discount): a windowed
//! entry with a higher input price than the date's entry is used all day, so cost errs high.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::OnceLock;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Usage;
use crate::config::{ModelConfig, ProviderKind};

mod table;

pub use table::PriceError;

/// Prices of one model in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per million input tokens not served from cache.
    pub input: Decimal,
    /// USD per million output tokens.
    pub output: Decimal,
    /// USD per million input tokens served from the prompt cache; `None` = the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<Decimal>,
    /// Higher prices for large requests, ascending by `from_input_tokens`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<PriceTier>,
}

/// Prices that apply to a whole request once its input tokens reach `from_input_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub from_input_tokens: u64,
    pub input: Decimal,
    pub output: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<Decimal>,
}

impl ModelPrice {
    /// Free (local models; replay models without a configured price).
    pub const FREE: ModelPrice = ModelPrice {
        input: Decimal::ZERO,
        output: Decimal::ZERO,
        cached_input: None,
        tiers: Vec::new(),
    };

    /// Flat prices, USD per million tokens.
    pub fn flat(input: Decimal, output: Decimal, cached_input: Option<Decimal>) -> Self {
        Self {
            input,
            output,
            cached_input,
            tiers: Vec::new(),
        }
    }

    /// `(input, output, cached_input)` per million tokens for a request of `input_tokens`.
    fn rates(&self, input_tokens: u64) -> (Decimal, Decimal, Decimal) {
        let base = (
            self.input,
            self.output,
            self.cached_input.unwrap_or(self.input),
        );
        self.tiers
            .iter()
            .rfind(|t| input_tokens >= t.from_input_tokens)
            .map_or(base, |t| {
                (t.input, t.output, t.cached_input.unwrap_or(t.input))
            })
    }

    /// The most a call could cost: `input_tokens` uncached plus `max_output_tokens`, at the tier
    /// those input tokens reach. Budgets check this before a call (DESIGN.md "Run semantics").
    pub fn worst_case(&self, input_tokens: u64, max_output_tokens: u64) -> Decimal {
        cost(
            self,
            &Usage {
                input_tokens,
                output_tokens: max_output_tokens,
                cached_input_tokens: 0,
            },
        )
    }
}

/// Exact cost in USD of `usage` at `price`:
/// `((input − cached) × input + cached × cached_input + output × output) / 1,000,000`, at the
/// tier reached by `usage.input_tokens`. Not rounded. Saturates at `Decimal::MAX` instead of
/// overflowing (which needs more than ~10^20 token-dollars), so a budget check then refuses.
pub fn cost(price: &ModelPrice, usage: &Usage) -> Decimal {
    let (input, output, cached) = price.rates(usage.input_tokens);
    let cached_tokens = usage.cached_input_tokens.min(usage.input_tokens);
    let terms = [
        (usage.input_tokens - cached_tokens, input),
        (cached_tokens, cached),
        (usage.output_tokens, output),
    ];
    let mut total = Decimal::ZERO;
    for (tokens, rate) in terms {
        let Some(sum) = Decimal::from(tokens)
            .checked_mul(rate)
            .and_then(|t| total.checked_add(t))
        else {
            return Decimal::MAX;
        };
        total = sum;
    }
    total / Decimal::from(1_000_000u32)
}

/// One priced model of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    /// genai-prices provider id (`openai`, `together`…).
    pub provider_id: String,
    /// genai-prices model id (`gpt-4-turbo`…).
    pub model_id: String,
    /// Display name, when the table has one.
    pub model_name: Option<String>,
    /// Context window in tokens, when the table has one.
    pub context_window: Option<u64>,
    pub price: ModelPrice,
}

/// A table of model prices: the bundled genai-prices data, or any file in its format.
#[derive(Debug)]
pub struct PriceTable {
    providers: Vec<table::Provider>,
}

static BUNDLED: OnceLock<PriceTable> = OnceLock::new();
const BUNDLED_JSON: &str = include_str!("../data/genai-prices_data.json");

impl PriceTable {
    /// The table shipped in this crate (parsed once). A parse failure gives an empty table; the
    /// crate's tests assert that the bundled file parses, so that cannot ship.
    pub fn bundled() -> &'static PriceTable {
        BUNDLED.get_or_init(|| {
            Self::from_json(BUNDLED_JSON).unwrap_or(PriceTable {
                providers: Vec::new(),
            })
        })
    }

    /// Parses a table in genai-prices' `data.json` format.
    pub fn from_json(json: &str) -> Result<PriceTable, PriceError> {
        Ok(PriceTable {
            providers: table::parse(json)?,
        })
    }

    /// Number of `(providers, models)` in the table.
    pub fn len(&self) -> (usize, usize) {
        (
            self.providers.len(),
            self.providers.iter().map(|p| p.models.len()).sum(),
        )
    }

    /// Whether the table has no providers.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The newest prices of `model` at `provider` (a genai-prices provider id such as `openai`,
    /// or an OpenTelemetry `gen_ai.provider.name` matched by the table's provider rules).
    pub fn price(&self, provider: &str, model: &str) -> Option<ModelPrice> {
        self.entry(provider, model, None).map(|e| e.price)
    }

    /// The prices of `model` at `provider` in force on `date`.
    pub fn price_on(&self, provider: &str, model: &str, date: Date) -> Option<ModelPrice> {
        self.entry(provider, model, Some(date)).map(|e| e.price)
    }

    /// The table entry for `model` at `provider`, with prices in force on `date` (newest when
    /// `None`).
    pub fn entry(&self, provider: &str, model: &str, date: Option<Date>) -> Option<PriceEntry> {
        let by_provider = self
            .providers
            .iter()
            .find(|p| p.id == provider)
            .or_else(|| {
                self.providers.iter().find(|p| {
                    p.provider_match
                        .as_ref()
                        .is_some_and(|m| m.matches(provider))
                })
            });
        let provider = match by_provider {
            Some(p) => p,
            None => self
                .providers
                .iter()
                .find(|p| p.model_match.as_ref().is_some_and(|m| m.matches(model)))?,
        };
        let mut seen = BTreeSet::new();
        self.find_model(provider, model, &mut seen)
            .map(|(provider, m)| PriceEntry {
                provider_id: provider.id.clone(),
                model_id: m.id.clone(),
                model_name: m.name.clone(),
                context_window: m.context_window,
                price: m.prices.at(date),
            })
    }

    fn find_model<'a>(
        &'a self,
        provider: &'a table::Provider,
        model: &str,
        seen: &mut BTreeSet<&'a str>,
    ) -> Option<(&'a table::Provider, &'a table::Model)> {
        if !seen.insert(provider.id.as_str()) {
            return None;
        }
        if let Some(m) = provider.models.iter().find(|m| m.matcher.matches(model)) {
            return Some((provider, m));
        }
        provider.fallback_model_providers.iter().find_map(|id| {
            let fallback = self.providers.iter().find(|p| &p.id == id)?;
            self.find_model(fallback, model, seen)
        })
    }

    /// The price of a configured model: its `price` override; else free for `local` and
    /// `replay`; else the table's newest price for its provider name and model id.
    pub fn price_for(&self, config: &ModelConfig) -> Option<ModelPrice> {
        if let Some(price) = &config.price {
            return Some(price.clone());
        }
        match config.provider {
            ProviderKind::Local | ProviderKind::Replay => Some(ModelPrice::FREE),
            ProviderKind::OpenaiCompatible | ProviderKind::Anthropic => {
                self.price(config.provider_name(), &config.model)
            }
        }
    }
}

/// A decimal from a JSON number's shortest text (`0.08333333333333334`, `1e-05`), exactly.
pub(crate) fn decimal(number: &serde_json::Number) -> Option<Decimal> {
    let text = number.to_string();
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

#[cfg(test)]
mod tests;
