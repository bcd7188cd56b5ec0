//! Choosing the next token of one sequence, optionally under a grammar.
//!
//! The obvious sampler chain `[grammar, greedy]` makes llama.cpp check the grammar against all
//! ~262k vocabulary tokens at every step, which on 2 cores caps generation at 12-24 tokens/s
//! (shared/LOCAL-MODEL.md). llama.cpp's own `common_sampler` avoids that the way this module
//! does: pick a token from the unconstrained distribution first, ask the grammar about that one
//! token, and only when it is rejected mask the candidates and pick again. In schema JSON the
//! model's own top token is usually admissible, so masking is rare; and when it is needed only
//! the highest logits are masked, widening until the choice is exact (see [`masked_top`]).
//!
//! The grammar sees each token exactly once, through [`LlamaSampler::try_accept`].
//! (`LlamaSampler::sample` accepts the token it returns; accepting it again aborts inside the
//! grammar, so `sample` is never used with a grammar here.)

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

/// Sampling settings used when `temperature > 0` (llama.cpp's `common_sampler` defaults).
const TOP_K: i32 = 40;
const TOP_P: f32 = 0.95;
const MIN_P: f32 = 0.05;

/// Why no token could be chosen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SampleError {
    #[error("the output grammar admits no token here")]
    NoAdmissibleToken,
    #[error("the output grammar rejected token {0}")]
    Rejected(i32),
    #[error("the distribution sampler selected no token")]
    NothingSelected,
}

/// The sampler of one sequence.
pub(crate) struct SeqSampler {
    grammar: Option<LlamaSampler>,
    /// `None`: greedy (temperature 0). `Some`: top-k/top-p/min-p/temperature/dist.
    chain: Option<LlamaSampler>,
    /// How many steps the model's own choice broke the grammar (and candidates were masked).
    pub(crate) rejections: u32,
}

impl std::fmt::Debug for SeqSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqSampler")
            .field("grammar", &self.grammar.is_some())
            .field("greedy", &self.chain.is_none())
            .field("rejections", &self.rejections)
            .finish()
    }
}

impl SeqSampler {
    /// A sampler for `temperature` (<= 0 means greedy) under an optional GBNF `grammar` whose
    /// start rule is `root`.
    pub(crate) fn new(
        model: &LlamaModel,
        grammar: Option<&str>,
        temperature: f32,
        seed: u32,
    ) -> Result<Self, llama_cpp_2::GrammarError> {
        let grammar = grammar
            .map(|g| LlamaSampler::grammar(model, g, "root"))
            .transpose()?;
        let chain = (temperature > 0.0).then(|| {
            LlamaSampler::chain_simple([
                LlamaSampler::top_k(TOP_K),
                LlamaSampler::top_p(TOP_P, 1),
                LlamaSampler::min_p(MIN_P, 1),
                LlamaSampler::temp(temperature),
                LlamaSampler::dist(seed),
            ])
        });
        Ok(Self {
            grammar,
            chain,
            rejections: 0,
        })
    }

    /// Choose the next token from `logits` (one row of the context's output, `n_vocab` long)
    /// and advance the grammar past it. `is_eog` tells end-of-generation tokens, which end the
    /// sequence and are not fed to the grammar.
    pub(crate) fn sample(
        &mut self,
        logits: &[f32],
        is_eog: impl Fn(LlamaToken) -> bool,
    ) -> Result<LlamaToken, SampleError> {
        let first = self.pick(logits)?;
        let Some(grammar) = self.grammar.as_mut() else {
            return Ok(first);
        };
        let token = if admits(grammar, first, logits) {
            first
        } else {
            self.rejections += 1;
            // Fewest admissible candidates that make the choice exact: the best one for greedy,
            // the chain's top-k for sampling.
            let needed = if self.chain.is_some() {
                TOP_K as usize
            } else {
                1
            };
            let mut admissible = masked_top(grammar, logits, needed);
            if admissible.data.is_empty() {
                return Err(SampleError::NoAdmissibleToken);
            }
            match self.chain.as_mut() {
                None => argmax_data(&admissible.data).ok_or(SampleError::NoAdmissibleToken)?,
                Some(chain) => {
                    chain.apply(&mut admissible);
                    admissible
                        .selected_token()
                        .ok_or(SampleError::NothingSelected)?
                }
            }
        };
        if !is_eog(token) {
            grammar
                .try_accept(token)
                .map_err(|_| SampleError::Rejected(token.0))?;
        }
        Ok(token)
    }

    /// The token the model would choose without a grammar.
    fn pick(&mut self, logits: &[f32]) -> Result<LlamaToken, SampleError> {
        match self.chain.as_mut() {
            None => argmax(logits).ok_or(SampleError::NothingSelected),
            Some(chain) => {
                // The chain starts with top-k, so pre-selecting the top k is the same draw at a
                // fraction of the cost.
                let mut best = top_k(logits, TOP_K as usize);
                chain.apply(&mut best);
                best.selected_token().ok_or(SampleError::NothingSelected)
            }
        }
    }
}

/// Whether `grammar` admits `token` as the next token (without advancing it).
fn admits(grammar: &mut LlamaSampler, token: LlamaToken, logits: &[f32]) -> bool {
    let logit = usize::try_from(token.0)
        .ok()
        .and_then(|i| logits.get(i))
        .copied()
        .unwrap_or(0.0);
    let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, logit, 0.0)], false);
    grammar.apply(&mut one);
    one.data
        .first()
        .is_some_and(|d| d.logit() != f32::NEG_INFINITY)
}

/// The admissible tokens among the `k` highest logits, widening `k` (256, 4096, 65536, all)
/// until at least `needed` are admissible.
///
/// Exact, not an approximation: every admissible token outside the top `k` has a lower logit
/// than every token inside it, so once `needed` admissible tokens are inside, the best
/// `needed` admissible tokens of the whole vocabulary are among them. It matters because a
/// grammar with long bounded repetitions (`maxLength: 240` strings) keeps hundreds of parse
/// stacks alive, and masking all 262k tokens against them took over a second per step here.
fn masked_top(grammar: &mut LlamaSampler, logits: &[f32], needed: usize) -> LlamaTokenDataArray {
    let mut k = 256;
    loop {
        let mut candidates = if k >= logits.len() {
            full_array(logits)
        } else {
            top_k(logits, k)
        };
        grammar.apply(&mut candidates);
        candidates.data.retain(|d| d.logit() != f32::NEG_INFINITY);
        if candidates.data.len() >= needed || k >= logits.len() {
            return candidates;
        }
        k = k.saturating_mul(16);
    }
}

/// The `k` highest logits (unordered).
fn top_k(logits: &[f32], k: usize) -> LlamaTokenDataArray {
    let mut all: Vec<LlamaTokenData> = (0_i32..)
        .zip(logits)
        .map(|(id, &logit)| LlamaTokenData::new(LlamaToken(id), logit, 0.0))
        .collect();
    if k < all.len() {
        all.select_nth_unstable_by(k, |a, b| b.logit().total_cmp(&a.logit()));
        all.truncate(k);
    }
    LlamaTokenDataArray::new(all, false)
}

fn full_array(logits: &[f32]) -> LlamaTokenDataArray {
    LlamaTokenDataArray::new(
        (0_i32..)
            .zip(logits)
            .map(|(id, &logit)| LlamaTokenData::new(LlamaToken(id), logit, 0.0))
            .collect(),
        false,
    )
}

/// Index of the largest logit (the first on ties, like llama.cpp's greedy sampler).
fn argmax(logits: &[f32]) -> Option<LlamaToken> {
    let mut best: Option<(i32, f32)> = None;
    for (id, &logit) in (0_i32..).zip(logits) {
        if best.is_none_or(|(_, b)| logit > b) {
            best = Some((id, logit));
        }
    }
    best.map(|(id, _)| LlamaToken(id))
}

fn argmax_data(data: &[LlamaTokenData]) -> Option<LlamaToken> {
    let mut best: Option<&LlamaTokenData> = None;
    for d in data {
        if best.is_none_or(|b| d.logit() > b.logit()) {
            best = Some(d);
        }
    }
    best.map(LlamaTokenData::id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_highest_logits() {
        let logits = [0.1, 5.0, -2.0, 3.0, 4.0];
        let mut ids: Vec<i32> = top_k(&logits, 3).data.iter().map(|d| d.id().0).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 3, 4]);
        assert_eq!(top_k(&logits, 9).data.len(), 5);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[0.5, 2.0, 2.0, -1.0]), Some(LlamaToken(1)));
        assert_eq!(argmax(&[f32::NEG_INFINITY, -3.0]), Some(LlamaToken(1)));
    }
}
