//! The AWS SDK configuration every client of this crate starts from: the default chain plus
//! `--region` / `--profile`, the timeouts and attempts of [`ClientOptions`], and a credentials
//! check that fails fast with the chain's own words instead of at the first call.

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
// The SDK's own types, through a service crate's re-exports (no direct smithy dependency).
use aws_sdk_cloudwatchlogs::config::ProvideCredentials;
use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;

use crate::cloudwatch::ClientOptions;

/// Why no usable configuration could be built.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// No region from `--region`, the environment or the profile.
    NoRegion,
    /// The credential chain failed or took too long; the chain's report (never a secret).
    NoCredentials(String),
}

/// A loader over the default chain with `opts.profile` and `opts.region` applied (no
/// endpoint override: each service reads its own `AWS_ENDPOINT_URL_<SERVICE>`).
pub(crate) fn loader(opts: &ClientOptions) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    loader
}

/// Applies the timeouts and `max_attempts` of `opts`, loads, and checks that there is a
/// region and that credentials resolve within `opts.credentials_timeout`. Returns the config
/// and its region.
pub(crate) async fn load(
    loader: ConfigLoader,
    opts: &ClientOptions,
) -> Result<(SdkConfig, String), LoadError> {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let mut loader = loader.timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(opts.connect_timeout)
            .operation_attempt_timeout(opts.attempt_timeout)
            .operation_timeout(opts.operation_timeout)
            .build(),
    );
    if let Some(n) = opts.max_attempts {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(n.max(1)));
    }
    let conf = loader.load().await;
    let region = conf.region().ok_or(LoadError::NoRegion)?.to_string();
    let provider = conf
        .credentials_provider()
        .ok_or_else(|| LoadError::NoCredentials("no credentials provider configured".into()))?;
    match tokio::time::timeout(opts.credentials_timeout, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok((conf, region)),
        Ok(Err(e)) => Err(LoadError::NoCredentials(
            DisplayErrorContext(&e).to_string(),
        )),
        Err(_) => Err(LoadError::NoCredentials(format!(
            "resolving credentials took longer than {:?} (off EC2, set \
             AWS_EC2_METADATA_DISABLED=true to skip the instance metadata probe)",
            opts.credentials_timeout
        ))),
    }
}

/// The runtime a blocking entry point (the binary is synchronous) runs its calls on: two
/// workers are plenty for a few polling queries.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
