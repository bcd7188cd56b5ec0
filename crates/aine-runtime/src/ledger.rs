//! The journal and state of one run, shared by the steps' calls that are in flight at once.
//!
//! A `for_each` step with `concurrency` above 1 has several elements in flight; each must read
//! the run's state (spend, calls journaled before a crash), record its calls and results, and
//! flush before paying for the next call. [`Ledger`] holds the run's [`Journal`] and
//! [`RunState`] behind one async lock that is taken for those moments only, never across a model
//! call or a builtin, and keeps the worst-case spend of the calls in flight so that budgets hold
//! across elements: a call is refused when what is spent, plus what the calls in flight could
//! still cost, plus its own worst case exceeds a cap.

use aine_engine::RunState;
use aine_types::{Spend, Usd};
use tokio::sync::{Mutex, MutexGuard};

use crate::journal::Journal;

/// What the lock guards: the run's journal writer, its folded state, and the spend reserved by
/// calls in flight.
pub(crate) struct Books<'r, 'j> {
    pub(crate) journal: &'r mut Journal<'j>,
    pub(crate) state: &'r mut RunState,
    /// The worst-case spend (prompt tokens, `max_output_tokens`, their USD price) of the model
    /// calls made and not journaled yet.
    reserved: Spend,
}

impl Books<'_, '_> {
    /// What calls in flight could still cost.
    pub(crate) fn reserved(&self) -> Spend {
        self.reserved
    }

    /// Reserves `worst` for a call about to be made; [`Books::release`] gives it back.
    pub(crate) fn reserve(&mut self, worst: Spend) {
        self.reserved += worst;
    }

    /// Gives back what [`Books::reserve`] reserved for a call that has ended.
    pub(crate) fn release(&mut self, worst: Spend) {
        let r = &mut self.reserved;
        r.input_tokens = r.input_tokens.saturating_sub(worst.input_tokens);
        r.output_tokens = r.output_tokens.saturating_sub(worst.output_tokens);
        r.usd = Usd((r.usd.0 - worst.usd.0).max(Usd::ZERO.0));
    }
}

/// One run's [`Books`] behind an async lock (see the module docs).
pub(crate) struct Ledger<'r, 'j> {
    books: Mutex<Books<'r, 'j>>,
}

impl<'r, 'j> Ledger<'r, 'j> {
    pub(crate) fn new(journal: &'r mut Journal<'j>, state: &'r mut RunState) -> Self {
        Self {
            books: Mutex::new(Books {
                journal,
                state,
                reserved: Spend::default(),
            }),
        }
    }

    /// Waits for the books; hold the guard only while reading, recording or flushing.
    pub(crate) async fn lock(&self) -> MutexGuard<'_, Books<'r, 'j>> {
        self.books.lock().await
    }
}
