//! The genai-prices `data.json` format, parsed into match rules and price histories.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{ModelPrice, PriceTier, decimal};

/// Why a price table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("price table is not valid json in the genai-prices format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("price table model `{model}`: invalid regex: {message}")]
    Regex { model: String, message: String },
    #[error("price table model `{model}`: {message}")]
    Price { model: String, message: String },
}

#[derive(Debug)]
pub(super) struct Provider {
    pub id: String,
    pub provider_match: Option<Matcher>,
    pub model_match: Option<Matcher>,
    pub fallback_model_providers: Vec<String>,
    pub models: Vec<Model>,
}

#[derive(Debug)]
pub(super) struct Model {
    pub id: String,
    pub name: Option<String>,
    pub context_window: Option<u64>,
    pub matcher: Matcher,
    pub prices: PriceHistory,
}

/// A compiled genai-prices match rule.
#[derive(Debug)]
pub(super) enum Matcher {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(regex::Regex),
    Or(Vec<Matcher>),
    And(Vec<Matcher>),
}

impl Matcher {
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::Equals(s) => text == s,
            Self::StartsWith(s) => text.starts_with(s.as_str()),
            Self::EndsWith(s) => text.ends_with(s.as_str()),
            Self::Contains(s) => text.contains(s.as_str()),
            Self::Regex(r) => r.is_match(text),
            Self::Or(all) => all.iter().any(|m| m.matches(text)),
            Self::And(all) => all.iter().all(|m| m.matches(text)),
        }
    }
}

/// Prices over time: `(start_date, prices)` ascending, the first without a date, plus entries
/// restricted to a time of day.
#[derive(Debug)]
pub(super) struct PriceHistory {
    dated: Vec<(Option<Date>, ModelPrice)>,
    windowed: Vec<ModelPrice>,
}

impl PriceHistory {
    /// Prices in force on `date` (`None` = the newest); see the module docs for time windows.
    pub fn at(&self, date: Option<Date>) -> ModelPrice {
        let chosen = self
            .dated
            .iter()
            .rfind(|(start, _)| match (start, date) {
                (None, _) | (Some(_), None) => true,
                (Some(start), Some(date)) => *start <= date,
            })
            .or_else(|| self.dated.first())
            .map_or(ModelPrice::FREE, |(_, p)| p.clone());
        self.windowed
            .iter()
            .filter(|w| w.input > chosen.input)
            .max_by_key(|w| w.input)
            .cloned()
            .unwrap_or(chosen)
    }
}

#[derive(Deserialize)]
struct RawProvider {
    id: String,
    #[serde(default)]
    provider_match: Option<RawMatch>,
    #[serde(default)]
    model_match: Option<RawMatch>,
    #[serde(default)]
    fallback_model_providers: Vec<String>,
    models: Vec<RawModel>,
}

#[derive(Deserialize)]
struct RawModel {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "match")]
    matcher: RawMatch,
    #[serde(default)]
    context_window: Option<u64>,
    prices: RawPrices,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawMatch {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(String),
    Or(Vec<RawMatch>),
    And(Vec<RawMatch>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPrices {
    History(Vec<RawConstrained>),
    One(RawPriceSet),
}

#[derive(Deserialize)]
struct RawConstrained {
    #[serde(default)]
    constraint: Option<RawConstraint>,
    prices: RawPriceSet,
}

#[derive(Deserialize)]
struct RawConstraint {
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
}

/// Unknown price kinds (audio, per request) are ignored; see the module docs.
#[derive(Deserialize)]
struct RawPriceSet {
    #[serde(default)]
    input_mtok: Option<RawPrice>,
    #[serde(default)]
    output_mtok: Option<RawPrice>,
    #[serde(default)]
    cache_read_mtok: Option<RawPrice>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPrice {
    Flat(serde_json::Number),
    Tiered {
        base: serde_json::Number,
        tiers: Vec<RawTier>,
    },
}

#[derive(Deserialize)]
struct RawTier {
    start: u64,
    price: serde_json::Number,
}

pub(super) fn parse(json: &str) -> Result<Vec<Provider>, PriceError> {
    let raw: Vec<RawProvider> = serde_json::from_str(json)?;
    raw.into_iter()
        .map(|p| {
            let models = p
                .models
                .into_iter()
                .map(|m| {
                    Ok(Model {
                        matcher: compile(m.matcher, &m.id)?,
                        prices: history(m.prices, &m.id)?,
                        id: m.id,
                        name: m.name,
                        context_window: m.context_window,
                    })
                })
                .collect::<Result<_, PriceError>>()?;
            Ok(Provider {
                provider_match: p.provider_match.map(|m| compile(m, &p.id)).transpose()?,
                model_match: p.model_match.map(|m| compile(m, &p.id)).transpose()?,
                id: p.id,
                fallback_model_providers: p.fallback_model_providers,
                models,
            })
        })
        .collect()
}

fn compile(raw: RawMatch, model: &str) -> Result<Matcher, PriceError> {
    let all = |v: Vec<RawMatch>| {
        v.into_iter()
            .map(|m| compile(m, model))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match raw {
        RawMatch::Equals(s) => Matcher::Equals(s),
        RawMatch::StartsWith(s) => Matcher::StartsWith(s),
        RawMatch::EndsWith(s) => Matcher::EndsWith(s),
        RawMatch::Contains(s) => Matcher::Contains(s),
        RawMatch::Regex(r) => {
            Matcher::Regex(regex::Regex::new(&r).map_err(|e| PriceError::Regex {
                model: model.to_owned(),
                message: e.to_string(),
            })?)
        }
        RawMatch::Or(v) => Matcher::Or(all(v)?),
        RawMatch::And(v) => Matcher::And(all(v)?),
    })
}

fn history(raw: RawPrices, model: &str) -> Result<PriceHistory, PriceError> {
    let entries = match raw {
        RawPrices::One(set) => vec![RawConstrained {
            constraint: None,
            prices: set,
        }],
        RawPrices::History(v) => v,
    };
    let mut dated = Vec::new();
    let mut windowed = Vec::new();
    for entry in entries {
        let price = price_set(entry.prices, model)?;
        match entry.constraint {
            None => dated.push((None, price)),
            Some(RawConstraint {
                start_date: Some(date),
                ..
            }) => {
                let date = date.parse::<Date>().map_err(|e| PriceError::Price {
                    model: model.to_owned(),
                    message: format!("bad start_date `{date}`: {e}"),
                })?;
                dated.push((Some(date), price));
            }
            Some(RawConstraint {
                start_date: None,
                start_time: Some(_),
            }) => windowed.push(price),
            Some(RawConstraint {
                start_date: None,
                start_time: None,
            }) => dated.push((None, price)),
        }
    }
    dated.sort_by_key(|(d, _)| *d);
    Ok(PriceHistory { dated, windowed })
}

/// One flat-or-tiered field: its base price and its tier prices by threshold.
struct Field {
    base: Decimal,
    tiers: BTreeMap<u64, Decimal>,
}

impl Field {
    fn at(&self, tokens: u64) -> Decimal {
        self.tiers
            .range(..=tokens)
            .next_back()
            .map_or(self.base, |(_, p)| *p)
    }
}

fn price_set(raw: RawPriceSet, model: &str) -> Result<ModelPrice, PriceError> {
    let bad = |what: &str| PriceError::Price {
        model: model.to_owned(),
        message: format!("unreadable {what}"),
    };
    let field = |raw: Option<RawPrice>, what: &str| -> Result<Option<Field>, PriceError> {
        Ok(match raw {
            None => None,
            Some(RawPrice::Flat(n)) => Some(Field {
                base: decimal(&n).ok_or_else(|| bad(what))?,
                tiers: BTreeMap::new(),
            }),
            Some(RawPrice::Tiered { base, tiers }) => Some(Field {
                base: decimal(&base).ok_or_else(|| bad(what))?,
                tiers: tiers
                    .into_iter()
                    .map(|t| Ok((t.start, decimal(&t.price).ok_or_else(|| bad(what))?)))
                    .collect::<Result<_, PriceError>>()?,
            }),
        })
    };
    let input = field(raw.input_mtok, "input_mtok")?;
    let output = field(raw.output_mtok, "output_mtok")?;
    let cached = field(raw.cache_read_mtok, "cache_read_mtok")?;
    let zero = Field {
        base: Decimal::ZERO,
        tiers: BTreeMap::new(),
    };
    let (input, output) = (
        input.unwrap_or(Field {
            base: Decimal::ZERO,
            tiers: BTreeMap::new(),
        }),
        output.unwrap_or(zero),
    );
    let starts: std::collections::BTreeSet<u64> = [&input, &output]
        .into_iter()
        .chain(cached.as_ref())
        .flat_map(|f| f.tiers.keys().copied())
        .collect();
    Ok(ModelPrice {
        input: input.base,
        output: output.base,
        cached_input: cached.as_ref().map(|c| c.base),
        tiers: starts
            .into_iter()
            .map(|start| PriceTier {
                from_input_tokens: start,
                input: input.at(start),
                output: output.at(start),
                cached_input: cached.as_ref().map(|c| c.at(start)),
            })
            .collect(),
    })
}
