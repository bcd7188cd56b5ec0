//! The decode thread: continuous batching of concurrent requests in one llama.cpp context.
//!
//! One OS thread owns the `LlamaContext` (it is `Send` but not `Sync`). Requests arrive on a
//! channel; each admitted request occupies one of `n_parallel` slots, i.e. one sequence id of
//! the context. Every step builds one `llama_batch` holding the next token of every generating
//! sequence plus prompt chunks of sequences still reading their prompt (up to `n_batch` tokens
//! in all), runs one `llama_decode`, and samples one token for each sequence whose logits were
//! computed. A finished or cancelled sequence frees its slot and its KV cells at once, and the
//! next queued request takes the slot on the following step. With one request in flight this
//! is plain single-sequence decoding.
//!
//! Prompt prefix reuse: a finished sequence keeps its prompt's KV cells (its generated tokens
//! are removed), and a new request goes to the free slot whose kept prompt shares the longest
//! token prefix with its own; only the tokens after that prefix are decoded. When another slot
//! (free or still busy) holds a longer prefix, its cells are shared into the new sequence
//! (`llama_memory_seq_cp`, which copies no data in the unified KV cache this context uses).
//! Calls that share a system message and instructions (one drafting call per topic, several
//! topics in flight at once) pay for them once.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use aine_models::ModelError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::oneshot;

use crate::sampling::SeqSampler;
use crate::{FinishReason, Generation, Timings};

/// One request for the decode thread.
pub(crate) struct Job {
    /// The rendered prompt.
    pub(crate) prompt: String,
    /// Parse special-token text in the prompt as control tokens: on for a chat-templated prompt
    /// (its markers; message text is defused, see `prompt::defuse`), off for the transcript.
    pub(crate) parse_special: bool,
    /// GBNF grammar (start rule `root`) the answer must follow.
    pub(crate) grammar: Option<String>,
    pub(crate) max_output_tokens: u32,
    pub(crate) temperature: f32,
    pub(crate) seed: u32,
    pub(crate) submitted: Instant,
    pub(crate) reply: oneshot::Sender<Result<Generation, ModelError>>,
}

/// Fixed shape of the context the thread decodes with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Sequences decoded together (slots).
    pub(crate) n_parallel: usize,
    /// KV cells per sequence: prompt plus output must fit.
    pub(crate) n_ctx_seq: u32,
    /// Most tokens in one `llama_decode`.
    pub(crate) n_batch: usize,
}

struct Seq {
    id: i32,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens whose KV cells were kept from the slot's previous sequence.
    prefix_reused: usize,
    /// Prompt tokens already decoded.
    fed: usize,
    /// Next position in this sequence.
    pos: i32,
    /// The last sampled token, still to be decoded.
    pending: Option<LlamaToken>,
    /// Row of this sequence's logits in the last batch.
    logits_row: Option<i32>,
    sampler: SeqSampler,
    json: bool,
    max_output_tokens: u32,
    output_tokens: u32,
    bytes: Vec<u8>,
    submitted: Instant,
    admitted: Instant,
    first_token: Option<Instant>,
    reply: oneshot::Sender<Result<Generation, ModelError>>,
}

pub(crate) fn run(
    model: Arc<LlamaModel>,
    mut ctx: LlamaContext<'_>,
    shape: Shape,
    jobs: Receiver<Job>,
) {
    let mut slots: Vec<Option<Seq>> = (0..shape.n_parallel).map(|_| None).collect();
    // The prompt tokens whose KV cells each free slot still holds.
    let mut kept: Vec<Vec<LlamaToken>> = vec![Vec::new(); shape.n_parallel];
    // Admitted requests not in a slot yet (see `waits_for_prefix`).
    let mut held: Vec<Seq> = Vec::new();
    let mut batch = LlamaBatch::new(shape.n_batch, 1);
    let mut open = true;
    loop {
        // Take queued requests while a slot is free for each; sleep on the queue only when
        // idle.
        while open && held.len() < slots.iter().filter(|s| s.is_none()).count() {
            let idle = held.is_empty() && slots.iter().all(Option::is_none);
            let job = if idle {
                match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => {
                        open = false;
                        break;
                    }
                }
            } else {
                match jobs.try_recv() {
                    Ok(job) => job,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            };
            if let Some(seq) = admit(&model, shape, job) {
                held.push(seq);
            }
        }
        // Place them in free slots, in arrival order, except a request whose prompt prefix a
        // busy sequence is still reading: it waits, then shares those cells.
        held.retain(|seq| !seq.reply.is_closed());
        let mut i = 0;
        while i < held.len() && slots.iter().any(Option::is_none) {
            if waits_for_prefix(&slots, &kept, &held[i].prompt) {
                i += 1;
                continue;
            }
            let mut seq = held.remove(i);
            // Time held counts as queued, not as prompt processing.
            seq.admitted = Instant::now();
            let free = best_slot(&slots, &kept, &seq.prompt);
            seq.id = i32::try_from(free).unwrap_or(i32::MAX);
            let source = best_source(&slots, &kept, &seq.prompt, free);
            reuse_prefix(&mut ctx, &mut seq, kept.get_mut(free), source);
            if let Some(slot) = slots.get_mut(free) {
                *slot = Some(seq);
            }
        }
        // Drop sequences whose caller went away (the future was cancelled).
        for slot in &mut slots {
            if slot.as_ref().is_some_and(|s| s.reply.is_closed())
                && let Some(seq) = slot.take()
            {
                forget(&mut ctx, seq.id, &mut kept);
            }
        }
        if slots.iter().all(Option::is_none) {
            if open {
                continue;
            }
            return;
        }

        fill_batch(&mut batch, &mut slots, shape.n_batch);
        if batch.n_tokens() == 0 {
            continue;
        }
        if let Err(e) = ctx.decode(&mut batch) {
            // Fail every sequence that had tokens in this batch; keep the thread alive.
            for slot in &mut slots {
                if let Some(seq) = slot.take() {
                    forget(&mut ctx, seq.id, &mut kept);
                    let _ = seq.reply.send(Err(ModelError::Unavailable {
                        message: format!("llama.cpp decode failed: {e}"),
                    }));
                }
            }
            continue;
        }
        for slot in &mut slots {
            let Some(seq) = slot.as_mut() else { continue };
            let Some(row) = seq.logits_row.take() else {
                continue;
            };
            if let Some(outcome) = step(&model, &ctx, seq, row)
                && let Some(seq) = slot.take()
            {
                keep_prompt(&mut ctx, &seq, &mut kept);
                let result = outcome.map(|finish| generation(&seq, finish));
                let _ = seq.reply.send(result);
            }
        }
    }
}

/// Tokenize and check a request; answer it at once (and return `None`) when it cannot run.
/// The sequence's slot (`id`) is chosen by the caller.
fn admit(model: &LlamaModel, shape: Shape, job: Job) -> Option<Seq> {
    let refuse = |reply: oneshot::Sender<_>, message: String| {
        let _ = reply.send(Err(ModelError::Unavailable { message }));
    };
    // BOS as the vocabulary asks (Gemma: yes); special tokens parsed only in a chat template's
    // markers, see `prompt`.
    let prompt = model
        .vocab()
        .tokenize(job.prompt.as_bytes(), true, job.parse_special);
    if prompt.is_empty() {
        refuse(job.reply, "the prompt tokenized to nothing".to_owned());
        return None;
    }
    let needed = prompt.len() as u64 + u64::from(job.max_output_tokens);
    if needed > u64::from(shape.n_ctx_seq) {
        refuse(
            job.reply,
            format!(
                "prompt of {} tokens plus max_output_tokens {} exceeds the context window of {} tokens",
                prompt.len(),
                job.max_output_tokens,
                shape.n_ctx_seq
            ),
        );
        return None;
    }
    let sampler = match SeqSampler::new(model, job.grammar.as_deref(), job.temperature, job.seed) {
        Ok(s) => s,
        Err(e) => {
            refuse(
                job.reply,
                format!("output grammar rejected by llama.cpp: {e}"),
            );
            return None;
        }
    };
    let now = Instant::now();
    let seq = Seq {
        id: 0,
        prompt,
        prefix_reused: 0,
        fed: 0,
        pos: 0,
        pending: None,
        logits_row: None,
        sampler,
        json: job.grammar.is_some(),
        max_output_tokens: job.max_output_tokens,
        output_tokens: 0,
        bytes: Vec::new(),
        submitted: job.submitted,
        admitted: now,
        first_token: None,
        reply: job.reply,
    };
    if seq.max_output_tokens == 0 {
        let result = Ok(generation(&seq, FinishReason::Length));
        let _ = seq.reply.send(result);
        return None;
    }
    Some(seq)
}

/// Next tokens of generating sequences first (one each), then prompt chunks.
fn fill_batch(batch: &mut LlamaBatch<'_>, slots: &mut [Option<Seq>], n_batch: usize) {
    batch.clear();
    let mut room = n_batch;
    for seq in slots.iter_mut().flatten() {
        if let Some(token) = seq.pending.take() {
            if batch.add(token, seq.pos, &[seq.id], true).is_ok() {
                seq.logits_row = Some(batch.n_tokens() - 1);
                seq.pos += 1;
                room = room.saturating_sub(1);
            } else {
                seq.pending = Some(token);
            }
        }
    }
    for seq in slots.iter_mut().flatten() {
        if seq.fed >= seq.prompt.len() || room == 0 {
            continue;
        }
        let end = seq.prompt.len().min(seq.fed + room);
        for i in seq.fed..end {
            let Some(&token) = seq.prompt.get(i) else {
                break;
            };
            let last = i + 1 == seq.prompt.len();
            if batch.add(token, seq.pos, &[seq.id], last).is_err() {
                return;
            }
            if last {
                seq.logits_row = Some(batch.n_tokens() - 1);
            }
            seq.pos += 1;
            seq.fed += 1;
            room -= 1;
        }
    }
}

/// Sample one token for `seq` from logits row `row`; `Some` when the sequence is done.
fn step(
    model: &LlamaModel,
    ctx: &LlamaContext<'_>,
    seq: &mut Seq,
    row: i32,
) -> Option<Result<FinishReason, ModelError>> {
    let vocab = model.vocab();
    let logits = ctx.get_logits_ith(row);
    let token = match seq.sampler.sample(logits, |t| vocab.is_eog(t)) {
        Ok(token) => token,
        Err(e) => {
            return Some(Err(ModelError::InvalidResponse {
                message: e.to_string(),
            }));
        }
    };
    if seq.first_token.is_none() {
        seq.first_token = Some(Instant::now());
    }
    if vocab.is_eog(token) {
        return Some(Ok(FinishReason::Stop));
    }
    seq.output_tokens += 1;
    vocab.token_to_piece_into(token, &mut seq.bytes, false, None);
    let text = valid_utf8_prefix(&seq.bytes);
    if seq.json {
        if json_complete(text) {
            return Some(Ok(FinishReason::Stop));
        }
    } else if let Some(at) = text.find(crate::prompt::STOP) {
        seq.bytes.truncate(at);
        return Some(Ok(FinishReason::Stop));
    }
    if seq.output_tokens >= seq.max_output_tokens {
        return Some(Ok(FinishReason::Length));
    }
    seq.pending = Some(token);
    None
}

fn valid_utf8_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    }
}

/// Whether `text` is already one complete JSON object, array or string (so the grammar can
/// only add whitespace). Numbers and literals are left to the grammar, which knows when they
/// end.
fn json_complete(text: &str) -> bool {
    let t = text.trim_end();
    matches!(t.as_bytes().last(), Some(b'}' | b']' | b'"'))
        && serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()
}

/// The free slot for a sequence with `prompt`: the one whose kept prompt shares the longest
/// prefix with it (the first free slot when none shares any).
fn best_slot(slots: &[Option<Seq>], kept: &[Vec<LlamaToken>], prompt: &[LlamaToken]) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for (i, slot) in slots.iter().enumerate() {
        if slot.is_some() {
            continue;
        }
        let shared = kept.get(i).map_or(0, |k| common_prefix(k, prompt));
        if best.is_none_or(|(_, b)| shared > b) {
            best = Some((i, shared));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Length of the common prefix of two token lists.
fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Prompt tokens a request waits for rather than decoding them itself (about half a second
/// of prompt processing for a 1.5B model on 2 cores).
const WORTH_WAITING: usize = 32;

/// Whether a request with `prompt` should wait for a busy sequence that is still reading a
/// longer common prefix than any slot's KV cells hold now (by at least [`WORTH_WAITING`]
/// tokens): once read, those cells are shared with it instead of being decoded twice. Requests
/// submitted together with one instruction prefix (a `for_each` step's elements) thus read it
/// once. A busy sequence always progresses, so the wait ends.
fn waits_for_prefix(
    slots: &[Option<Seq>],
    kept: &[Vec<LlamaToken>],
    prompt: &[LlamaToken],
) -> bool {
    let limit = prompt.len().saturating_sub(1);
    let ready = best_source(slots, kept, prompt, usize::MAX).map_or(0, |(_, n)| n);
    let coming = slots
        .iter()
        .flatten()
        .map(|seq| common_prefix(&seq.prompt, prompt).min(limit))
        .max()
        .unwrap_or(0);
    coming >= ready + WORTH_WAITING
}

/// The other slot whose KV cells hold the longest prefix of `prompt`, and that prefix's length
/// (at most all but the last prompt token): a free slot's kept prompt, or the prompt tokens a
/// busy sequence has already decoded. `None` when no other slot shares any.
fn best_source(
    slots: &[Option<Seq>],
    kept: &[Vec<LlamaToken>],
    prompt: &[LlamaToken],
    dest: usize,
) -> Option<(i32, usize)> {
    let limit = prompt.len().saturating_sub(1);
    let mut best: Option<(i32, usize)> = None;
    for (i, slot) in slots.iter().enumerate() {
        if i == dest {
            continue;
        }
        let held: &[LlamaToken] = match slot {
            Some(seq) => seq.prompt.get(..seq.fed).unwrap_or_default(),
            None => kept.get(i).map_or(&[][..], Vec::as_slice),
        };
        let shared = common_prefix(held, prompt).min(limit);
        if shared > best.map_or(0, |(_, b)| b) {
            best = Some((i32::try_from(i).unwrap_or(i32::MAX), shared));
        }
    }
    best
}

/// Starts `seq` after the longest prefix of its prompt that the KV cells already hold: its
/// own slot's kept prompt (`kept`; the cells after the shared prefix are removed), or, when
/// another slot holds a longer one (`source`), that slot's cells, shared into this sequence
/// (the context's KV cache is unified, so sharing copies no data). At least the last prompt
/// token is decoded again so that its logits exist. When llama.cpp cannot remove part of a
/// sequence, the slot starts empty.
fn reuse_prefix(
    ctx: &mut LlamaContext<'_>,
    seq: &mut Seq,
    kept: Option<&mut Vec<LlamaToken>>,
    source: Option<(i32, usize)>,
) {
    let Some(kept) = kept else { return };
    let own = common_prefix(kept, &seq.prompt).min(seq.prompt.len().saturating_sub(1));
    let slot = u32::try_from(seq.id).ok();
    let reused = match source {
        Some((from, shared)) if shared > own => {
            let _ = ctx.clear_kv_cache_seq(slot, None, None);
            let end = u32::try_from(shared).unwrap_or(u32::MAX);
            ctx.copy_kv_cache_seq(from, seq.id, Some(0), Some(end))
                .is_ok()
                .then_some(shared)
        }
        _ => {
            let from = u32::try_from(own).unwrap_or(u32::MAX);
            (own > 0 && matches!(ctx.clear_kv_cache_seq(slot, Some(from), None), Ok(true)))
                .then_some(own)
        }
    };
    match reused {
        Some(shared) => {
            seq.fed = shared;
            seq.pos = i32::try_from(shared).unwrap_or(i32::MAX);
            seq.prefix_reused = shared;
        }
        None => {
            let _ = ctx.clear_kv_cache_seq(slot, None, None);
        }
    }
    kept.clear();
}

/// A finished sequence leaves its prompt's KV cells for the next request in its slot and
/// removes its generated tokens' cells.
fn keep_prompt(ctx: &mut LlamaContext<'_>, seq: &Seq, kept: &mut [Vec<LlamaToken>]) {
    let slot = u32::try_from(seq.id).ok();
    let from = u32::try_from(seq.prompt.len()).unwrap_or(u32::MAX);
    let Some(entry) = usize::try_from(seq.id).ok().and_then(|i| kept.get_mut(i)) else {
        return;
    };
    if matches!(ctx.clear_kv_cache_seq(slot, Some(from), None), Ok(true)) {
        entry.clone_from(&seq.prompt);
    } else {
        let _ = ctx.clear_kv_cache_seq(slot, None, None);
        entry.clear();
    }
}

/// Frees every KV cell of slot `id` (a cancelled or failed sequence).
fn forget(ctx: &mut LlamaContext<'_>, id: i32, kept: &mut [Vec<LlamaToken>]) {
    let _ = ctx.clear_kv_cache_seq(u32::try_from(id).ok(), None, None);
    if let Some(entry) = usize::try_from(id).ok().and_then(|i| kept.get_mut(i)) {
        entry.clear();
    }
}

fn generation(seq: &Seq, finish: FinishReason) -> Generation {
    let now = Instant::now();
    let first = seq.first_token.unwrap_or(now);
    Generation {
        text: String::from_utf8_lossy(&seq.bytes).trim_end().to_owned(),
        prompt_tokens: seq.prompt.len() as u64,
        cached_prompt_tokens: seq.prefix_reused as u64,
        output_tokens: u64::from(seq.output_tokens),
        finish,
        timings: Timings {
            queued: seq.admitted.saturating_duration_since(seq.submitted),
            prompt: first.saturating_duration_since(seq.admitted),
            generate: now.saturating_duration_since(first),
            grammar_rejections: seq.sampler.rejections,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_completion_is_detected_only_for_closed_values() {
        for (text, done) in [
            ("{\"a\": 1}", true),
            ("{\"a\": 1}\n", true),
            ("{\"a\": \"}\"", false),
            ("[1, 2]", true),
            ("\"x\"", true),
            ("12", false),
            ("{\"a\": [1}", false),
        ] {
            assert_eq!(json_complete(text), done, "{text}");
        }
    }

    #[test]
    fn cut_utf8_is_not_decoded_half_way() {
        let bytes = "é".as_bytes();
        assert_eq!(valid_utf8_prefix(bytes.get(..1).unwrap_or_default()), "");
        assert_eq!(valid_utf8_prefix(bytes), "é");
    }
}
