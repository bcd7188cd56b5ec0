//! Retries with exponential backoff and jitter, honouring `Retry-After`, that report every
//! failed attempt so the caller can journal it.

use std::future::Future;
use std::time::Duration;

use crate::ModelError;

/// How often and how patiently to retry a retryable [`ModelError`].
///
/// The delay before retry `n` (1-based) is `min(max_backoff, initial_backoff * 2^(n-1))` scaled
/// by a random factor in `[0.5, 1.0]` ("equal jitter", M. Brooker, "Exponential Backoff and
/// Jitter", AWS Architecture Blog, 2015), or exactly the provider's `Retry-After` delay when it
/// sent one. A `Retry-After` longer than `max_retry_after` ends the retries at once, so the
/// caller can fall back along the route instead of waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Base delay before the first retry.
    pub initial_backoff: Duration,
    /// Cap on the computed (not the provider-requested) delay.
    pub max_backoff: Duration,
    /// Longest `Retry-After` the policy is willing to wait.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms initial backoff, 8 s cap, wait at most 60 s for `Retry-After`.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after failed attempt number `attempt` (1-based), or
    /// `None` when no retry should follow: the error is not retryable, attempts are used up, or
    /// the provider asked to wait longer than `max_retry_after`. `unit` in `[0, 1]` is the jitter
    /// draw (0 → half the backoff, 1 → the full backoff).
    pub fn delay_after(&self, attempt: u32, error: &ModelError, unit: f64) -> Option<Duration> {
        self.delay(attempt, error.is_retryable(), error.retry_after(), unit)
    }

    /// [`RetryPolicy::delay_after`] for an error already reduced to whether it is `retryable`
    /// and the `retry_after` delay the provider asked for (as a journal records them).
    pub fn delay(
        &self,
        attempt: u32,
        retryable: bool,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        if !retryable || attempt >= self.max_attempts {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        Some(backoff.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0)))
    }
}

/// One failed attempt, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1-based attempt number.
    pub attempt: u32,
    /// Why it failed.
    pub error: ModelError,
    /// How long the policy waited before the next attempt; `None` when it gave up here.
    pub retry_in: Option<Duration>,
}

/// Something that waits; injected so tests (and a simulated clock) need not sleep for real.
#[async_trait::async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, duration: Duration);
}

/// Sleeps with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait::async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Calls `call(attempt)` (attempt is 1-based) until it succeeds, fails with an error that
/// should not be retried, or the policy gives up. Returns the last result and one
/// [`AttemptRecord`] per failed attempt (empty when the first attempt succeeded), so the caller
/// can journal every attempt with its reason.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    sleeper: &dyn Sleeper,
    mut call: F,
) -> (Result<T, ModelError>, Vec<AttemptRecord>)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ModelError>>,
{
    let mut attempts = Vec::new();
    let mut attempt = 1;
    loop {
        match call(attempt).await {
            Ok(value) => return (Ok(value), attempts),
            Err(error) => {
                let retry_in = policy.delay_after(attempt, &error, rand::random::<f64>());
                attempts.push(AttemptRecord {
                    attempt,
                    error: error.clone(),
                    retry_in,
                });
                match retry_in {
                    Some(delay) => sleeper.sleep(delay).await,
                    None => return (Err(error), attempts),
                }
            }
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct RecordingSleeper(Mutex<Vec<Duration>>);

    #[async_trait::async_trait]
    impl Sleeper for RecordingSleeper {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
    }

    fn server() -> ModelError {
        ModelError::Server {
            status: 503,
            message: "down".into(),
        }
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let p = RetryPolicy {
            max_attempts: 10,
            ..RetryPolicy::default()
        };
        let d = |n, u| p.delay_after(n, &server(), u);
        assert_eq!(d(1, 1.0), Some(Duration::from_millis(500)));
        assert_eq!(d(1, 0.0), Some(Duration::from_millis(250)));
        assert_eq!(d(3, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(d(9, 1.0), Some(Duration::from_secs(8)));
        assert_eq!(d(10, 1.0), None, "attempts used up");
        let auth = ModelError::Auth {
            status: 401,
            message: String::new(),
        };
        assert_eq!(p.delay_after(1, &auth, 1.0), None, "not retryable");
        let limited = |s| ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(s)),
            message: String::new(),
        };
        assert_eq!(
            p.delay_after(1, &limited(20), 0.3),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            p.delay_after(1, &limited(61), 0.3),
            None,
            "too long to wait"
        );
    }

    #[tokio::test]
    async fn records_every_failed_attempt() {
        let sleeper = RecordingSleeper::default();
        let policy = RetryPolicy::default();
        let limited = ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            message: "slow".into(),
        };
        let (result, attempts) = with_retries(&policy, &sleeper, |n| {
            let e = limited.clone();
            async move { if n < 3 { Err(e) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[1].attempt, 2);
        assert_eq!(*sleeper.0.lock().unwrap(), vec![Duration::from_secs(2); 2]);

        let (result, attempts) =
            with_retries(&policy, &sleeper, |_| async { Err::<(), _>(server()) }).await;
        assert_eq!(result, Err(server()));
        assert_eq!(attempts.len(), 3);
        assert_eq!(attempts[2].retry_in, None);

        let auth = ModelError::Auth {
            status: 403,
            message: String::new(),
        };
        let (result, attempts) = with_retries(&policy, &sleeper, |_| {
            let e = auth.clone();
            async move { Err::<(), _>(e) }
        })
        .await;
        assert_eq!(result, Err(auth));
        assert_eq!(attempts.len(), 1, "not retried");
    }
}
