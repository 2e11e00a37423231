//! Where `fleet` finds its accounts and regions when it is not told them: the accounts of the
//! AWS Organization (`--org`, Organizations ListAccounts) and each account's enabled regions
//! (`--region all`, Account ListRegions).

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;

use crate::cloudwatch::Error;

/// The organization's accounts, as ListAccounts returned them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgAccounts {
    /// ACTIVE accounts, in the order listed, each once.
    pub active: Vec<String>,
    /// Every other account (suspended, pending closure) with its state, to be reported as
    /// skipped rather than silently dropped.
    pub inactive: Vec<(String, String)>,
}

/// Every account of the organization of `config`'s credentials, all pages of ListAccounts.
///
/// ListAccounts "can be called only from the organization's management account or by a
/// member account that is a delegated administrator", and is paginated with `NextToken`
/// (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>).
/// An account's `State` (ACTIVE, PENDING_CLOSURE, SUSPENDED, ...) replaces the deprecated
/// `Status`; either is read, `State` first
/// (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html>).
pub async fn accounts(config: &aws_config::SdkConfig) -> Result<OrgAccounts, Error> {
    let client = aws_sdk_organizations::Client::new(config);
    let pages = client
        .list_accounts()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| Error::Organizations {
            detail: organizations_detail(e.code(), e.message(), &e),
        })?;
    let mut out = OrgAccounts::default();
    for a in pages.iter().flat_map(|p| p.accounts()) {
        let Some(id) = a.id() else { continue };
        let state = a
            .state()
            .map(|s| s.as_str().to_owned())
            .or_else(|| a.status().map(|s| s.as_str().to_owned()))
            .unwrap_or_else(|| "UNKNOWN".to_owned());
        if out.active.iter().any(|x| x == id) || out.inactive.iter().any(|(x, _)| x == id) {
            continue;
        }
        if state == "ACTIVE" {
            out.active.push(id.to_owned());
        } else {
            out.inactive.push((id.to_owned(), state));
        }
    }
    if out.active.is_empty() && out.inactive.is_empty() {
        // Never a run that audits nothing and says it succeeded.
        return Err(Error::Organizations {
            detail: "ListAccounts listed no account (is the account of these credentials in \
                     an AWS Organization, as its management or delegated administrator \
                     account?)"
                .to_owned(),
        });
    }
    Ok(out)
}

/// What to tell the user when ListAccounts failed: the permission or the state, then the
/// service's words.
fn organizations_detail(
    code: Option<&str>,
    message: Option<&str>,
    e: &dyn std::error::Error,
) -> String {
    let said = message.map(|m| format!(": {m}")).unwrap_or_default();
    match code {
        Some("AccessDeniedException") | Some("AccessDenied") => format!(
            "access denied (AccessDeniedException{said}). --org needs organizations:ListAccounts, \
             called from the management account or a delegated administrator account"
        ),
        Some("AWSOrganizationsNotInUseException") => format!(
            "the account of these credentials is not a member of an AWS Organization \
             (AWSOrganizationsNotInUseException{said}). Use --accounts instead"
        ),
        Some(c) => format!("{c}{said}"),
        None => eks_authlog_core::error::chain(e),
    }
}

/// The regions enabled for the account of `config`'s credentials (`ENABLED` and
/// `ENABLED_BY_DEFAULT`), every page of ListRegions, sorted.
///
/// ListRegions lists the account's regions with their `RegionOptStatus` (ENABLED, ENABLING,
/// DISABLING, DISABLED, ENABLED_BY_DEFAULT), filtered with `RegionOptStatusContains`, paginated
/// with `NextToken`, and needs `account:ListRegions`
/// (<https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html>). It is
/// asked with each account's own credentials: opt-in regions differ per account.
pub async fn enabled_regions(config: &aws_config::SdkConfig) -> Result<Vec<String>, Error> {
    use aws_sdk_account::types::RegionOptStatus;
    let client = aws_sdk_account::Client::new(config);
    let regions = client
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            let said = e.message().map(|m| format!(": {m}")).unwrap_or_default();
            Error::ListRegions {
                detail: match e.code() {
                    Some(c @ ("AccessDeniedException" | "AccessDenied")) => {
                        format!("access denied ({c}{said}); --region all needs account:ListRegions")
                    }
                    Some(c) => format!("{c}{said}"),
                    None => organizations_detail(None, None, &e),
                },
            }
        })?;
    let mut out: Vec<String> = regions
        .iter()
        // The filter is asked of the service; kept here too, so that nothing else slips in.
        .filter(|r| {
            matches!(
                r.region_opt_status(),
                Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
            )
        })
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_errors_name_the_permission_or_the_state() {
        let e = std::io::Error::other("x");
        let d = organizations_detail(Some("AccessDeniedException"), Some("no"), &e);
        assert!(
            d.contains("organizations:ListAccounts") && d.contains("management account"),
            "{d}"
        );
        let d = organizations_detail(Some("AWSOrganizationsNotInUseException"), None, &e);
        assert!(d.contains("not a member of an AWS Organization"), "{d}");
        assert_eq!(
            organizations_detail(Some("Other"), Some("m"), &e),
            "Other: m"
        );
    }
}
