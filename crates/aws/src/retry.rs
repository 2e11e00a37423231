//! Retrying throttled calls of the APIs with low documented rates (CloudTrail LookupEvents:
//! two requests per second per account and region; IAM's read calls), on top of the SDK's own
//! standard retry mode, which `AWS_MAX_ATTEMPTS` may turn down to one attempt.

use std::future::Future;
use std::time::Duration;

use aws_sdk_eks::config::http::HttpResponse;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};

/// Attempts per call, the first included.
pub const ATTEMPTS: u32 = 4;

/// The wait before the second attempt; it doubles after each.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Whether the service said to slow down.
pub fn is_throttling<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let code = err.code().unwrap_or_default();
    matches!(
        code,
        "Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded"
    ) || err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 429)
}

/// Runs `call` until it is not throttled, at most [`ATTEMPTS`] times, waiting
/// [`FIRST_BACKOFF`] and then twice as long before each new attempt. `attempts` counts the
/// calls made.
pub async fn throttled<T, E, F, Fut>(
    attempts: &mut u64,
    mut call: F,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut wait = FIRST_BACKOFF;
    let mut n = 0;
    loop {
        n += 1;
        *attempts += 1;
        match call().await {
            Err(e) if n < ATTEMPTS && is_throttling(&e) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return other,
        }
    }
}
