//! Creating objects without ever duplicating them.
//!
//! A create (POST to a collection) is not idempotent and the API has no
//! idempotency keys. When a create's answer is lost (the connection died
//! after the request went out, a timeout, a 5xx), the object may exist
//! already. So before sending the create again we look for it: an object
//! with the create's identifying fields, made at or after the first attempt
//! started (by the server's clock). Only if none exists is the create
//! retried. A 429 or a refused connection prove nothing was made, so those
//! are retried directly.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{DATE, HeaderMap};
use serde::de::DeserializeOwned;

use crate::client::{
    Assessment, Client, Outcome, Request, Stop, admin_result, decode, log_retry,
    may_have_taken_effect,
};
use crate::error::ApiError;
use crate::models::{
    CreateRuleRequest, CreatedServiceAccount, FederationRule, Permissions, Project,
    WorkloadIdentityProvider,
};

/// Seconds of doubt around "the first attempt started": the `Date` header
/// and `created_at` both have one-second resolution, and the request takes
/// a moment to reach the server.
const CLOCK_SLACK_SECS: i64 = 3;

/// The server's clock relative to ours, learned from `Date` headers, so the
/// "made after the attempt started" test does not depend on this machine's
/// clock being right.
#[derive(Debug, Default)]
pub(super) struct ServerClock {
    /// Server minus local time, in seconds; 0 until a `Date` is seen.
    offset_secs: AtomicI64,
}

impl ServerClock {
    pub fn observe(&self, headers: &HeaderMap) {
        let Some(server) = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s).ok())
        else {
            return;
        };
        let offset = unix_secs(server) - unix_secs(SystemTime::now());
        self.offset_secs.store(offset, Ordering::Relaxed);
    }

    /// `local` expressed in the server's Unix seconds.
    pub fn server_secs(&self, local: SystemTime) -> i64 {
        unix_secs(local) + self.offset_secs.load(Ordering::Relaxed)
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Objects that carry their server creation time.
pub(super) trait CreatedAt {
    fn created_at(&self) -> i64;
}

impl CreatedAt for WorkloadIdentityProvider {
    fn created_at(&self) -> i64 {
        self.created_at
    }
}

impl CreatedAt for FederationRule {
    fn created_at(&self) -> i64 {
        self.created_at
    }
}

impl CreatedAt for Project {
    fn created_at(&self) -> i64 {
        self.created_at
    }
}

impl CreatedAt for CreatedServiceAccount {
    fn created_at(&self) -> i64 {
        self.created_at
    }
}

/// Whether `rule` is what `req` would have made. With a name, the name (unique
/// within the provider) decides, together with the binding; without one, every
/// field the request set must match.
pub fn rule_matches(rule: &FederationRule, req: &CreateRuleRequest) -> bool {
    if rule.project_id != req.project_id || rule.service_account_id != req.service_account_id {
        return false;
    }
    if let Some(name) = &req.name {
        return rule.name.as_deref() == Some(name.as_str());
    }
    rule.name.is_none()
        && rule.attribute_matchers == req.attribute_matchers
        && req
            .description
            .as_ref()
            .is_none_or(|d| rule.description.as_ref() == Some(d))
        && req.enabled.is_none_or(|e| rule.enabled == e)
        && rule.permissions
            == req
                .permissions
                .clone()
                .unwrap_or(Permissions::ServiceAccountDefault)
}

impl Client {
    /// Sends a create and returns the created object, retrying only in ways
    /// that cannot duplicate it. `find` lists existing objects with the
    /// create's identifying fields; `what` names the object in errors.
    pub(super) async fn create<T, F, Fut>(
        &self,
        req: &Request,
        what: &str,
        find: F,
    ) -> Result<T, ApiError>
    where
        T: DeserializeOwned + CreatedAt,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ApiError>>,
    {
        let started = SystemTime::now();
        let mut attempt = 0;
        // Retries other than for 429s, which `max_retries` bounds.
        let mut retries = 0;
        let mut waited = Duration::ZERO;
        // Some earlier attempt may have made the object.
        let mut ambiguous = false;
        loop {
            let slot = match self.pace(req, &mut waited).await {
                Ok(slot) => slot,
                Err(stop) => return stopped(req, stop, attempt, ambiguous),
            };
            let sent = slot.sent();
            let outcome = self.send_once(req, attempt, slot).await;
            // Stopped in flight: looking for the object would be another
            // request, and nothing more is sent once stopping.
            let outcome = match outcome {
                Outcome::Stopped(stop) => return stopped(req, stop, attempt + 1, ambiguous),
                other => other,
            };
            match self.assess(&outcome, retries) {
                // A 429 proves this attempt made nothing.
                Assessment::RateLimited { hint } => {
                    attempt += 1;
                    if let Err(stop) = self.rate_limited(req, outcome, hint, sent, waited, attempt)
                    {
                        return stopped(req, stop, attempt, ambiguous);
                    }
                }
                Assessment::Success => {
                    let Outcome::Reply(reply) = &outcome else {
                        unreachable!("success is always a reply")
                    };
                    return match decode(req, reply) {
                        Ok(created) => Ok(created),
                        // The object was made even though its answer is
                        // unreadable: hand back the stored one if we can.
                        Err(e) => match self.recover(req, what, started, &find).await {
                            Ok(Some(found)) => Ok(found),
                            _ => Err(e),
                        },
                    };
                }
                Assessment::Final => {
                    // A conflict right after a lost attempt is most likely
                    // that attempt's object colliding with our resend; a
                    // 5xx with a too-long Retry-After may have done the work.
                    let conflict =
                        matches!(&outcome, Outcome::Reply(r) if r.status == StatusCode::CONFLICT);
                    if (ambiguous && conflict) || may_have_taken_effect(&outcome) {
                        if let Some(found) = self.recover(req, what, started, &find).await? {
                            return Ok(found);
                        }
                    }
                    return admin_result(req, outcome, attempt + 1);
                }
                Assessment::Retry {
                    delay,
                    maybe_committed,
                } => {
                    let retries_left = retries < self.max_retries();
                    if retries_left {
                        log_retry(req, attempt, delay);
                        // Waiting before looking also gives a slow commit
                        // time to become visible.
                        if let Err(stop) = self.sleep(delay).await {
                            return stopped(req, stop, attempt + 1, ambiguous || maybe_committed);
                        }
                    }
                    if maybe_committed {
                        ambiguous = true;
                        if let Some(found) = self.recover(req, what, started, &find).await? {
                            return Ok(found);
                        }
                    }
                    if !retries_left {
                        return admin_result(req, outcome, attempt + 1);
                    }
                    attempt += 1;
                    retries += 1;
                }
            }
        }
    }

    /// The server's clock now, in Unix seconds, as learned from its `Date`
    /// headers: what `created_at` of an object made now will be about.
    pub fn server_now_secs(&self) -> i64 {
        self.inner.clock.server_secs(SystemTime::now())
    }

    /// Looks for the object a lost create attempt may have made: the newest
    /// candidate created at or after `started` (server time).
    async fn recover<T, F, Fut>(
        &self,
        req: &Request,
        what: &str,
        started: SystemTime,
        find: &F,
    ) -> Result<Option<T>, ApiError>
    where
        T: CreatedAt,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ApiError>>,
    {
        let candidates = find().await.map_err(|e| ApiError::CreateOutcomeUnknown {
            method: req.method.clone(),
            path: req.path.clone(),
            what: what.to_owned(),
            source: Box::new(e),
        })?;
        // Read the clock after the lookup: its replies refreshed the offset.
        let since = self.inner.clock.server_secs(started) - CLOCK_SLACK_SECS;
        let found = candidates
            .into_iter()
            .filter(|c| c.created_at() >= since)
            .max_by_key(CreatedAt::created_at);
        tracing::debug!(
            method = %req.method,
            path = %req.path,
            found = found.is_some(),
            "looked for the object of a create whose response was lost"
        );
        Ok(found)
    }
}

/// A create that stopped waiting: when cancelled, whether some attempt may
/// have made the object is part of the error.
fn stopped<T: DeserializeOwned>(
    req: &Request,
    stop: Stop,
    attempts: u32,
    ambiguous: bool,
) -> Result<T, ApiError> {
    match stop {
        Stop::Cancelled { in_flight } => Err(ApiError::Cancelled {
            method: req.method.clone(),
            path: req.path.clone(),
            maybe_committed: in_flight || ambiguous,
        }),
        stop => admin_result(req, Outcome::Stopped(stop), attempts),
    }
}

/// Seconds of doubt to allow when a create's start time was written down
/// before it was sent (see [`Client::server_now_secs`]).
pub const CREATED_AT_SLACK_SECS: i64 = CLOCK_SLACK_SECS;

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn rule() -> FederationRule {
        serde_json::from_value(json!({
            "object": "organization.workload_identity_federation_rule",
            "id": "wifr_1",
            "workload_identity_provider_id": "wip_1",
            "name": null,
            "description": null,
            "enabled": true,
            "project_id": "proj_1",
            "service_account_id": "svc_1",
            "attribute_matchers": {"sub": "repo:a/b:ref:refs/heads/main", "n": 1},
            "permissions": {"type": "service_account_default"},
            "created_at": 100,
            "updated_at": 100
        }))
        .unwrap()
    }

    fn request() -> CreateRuleRequest {
        serde_json::from_value(json!({
            "project_id": "proj_1",
            "service_account_id": "svc_1",
            // Key order differs from the stored rule on purpose.
            "attribute_matchers": {"n": 1, "sub": "repo:a/b:ref:refs/heads/main"}
        }))
        .unwrap()
    }

    #[test]
    fn unnamed_rule_matches_on_every_set_field() {
        let r = rule();
        let mut req = request();
        assert!(rule_matches(&r, &req));
        req.enabled = Some(false);
        assert!(!rule_matches(&r, &req));
        req.enabled = None;
        req.permissions = Some(Permissions::Restricted {
            scopes: vec!["api.model.read".into()],
        });
        assert!(!rule_matches(&r, &req));
        req.permissions = None;
        req.attribute_matchers.insert("n".into(), json!("1"));
        assert!(!rule_matches(&r, &req), "a string is not the number");
        let mut req = request();
        req.service_account_id = "svc_2".into();
        assert!(!rule_matches(&r, &req));
    }

    #[test]
    fn ids_are_opaque() {
        // Ids in shapes other than the documented examples match like any other string.
        let mut r = rule();
        r.workload_identity_provider_id = "idp_0123456789abcdef".into();
        r.project_id = "user-abc123".into();
        r.service_account_id = "user-svc-7".into();
        let mut req = request();
        req.project_id = "user-abc123".into();
        req.service_account_id = "user-svc-7".into();
        assert!(rule_matches(&r, &req));
        req.service_account_id = "user-svc-8".into();
        assert!(!rule_matches(&r, &req));
    }

    #[test]
    fn named_rule_matches_on_name_and_binding() {
        let mut r = rule();
        r.name = Some("deploy".into());
        let mut req = request();
        assert!(!rule_matches(&r, &req), "unnamed request, named rule");
        req.name = Some("deploy".into());
        req.attribute_matchers.clear();
        assert!(rule_matches(&r, &req));
        req.name = Some("other".into());
        assert!(!rule_matches(&r, &req));
    }

    #[test]
    fn server_clock_follows_the_date_header() {
        let clock = ServerClock::default();
        let now = SystemTime::now();
        assert_eq!(clock.server_secs(now), unix_secs(now));
        let ahead = now + std::time::Duration::from_secs(3600);
        let mut h = HeaderMap::new();
        h.insert(
            DATE,
            HeaderValue::from_str(&httpdate::fmt_http_date(ahead)).unwrap(),
        );
        clock.observe(&h);
        let skew = clock.server_secs(now) - unix_secs(now);
        assert!((3599..=3601).contains(&skew), "skew {skew}");
    }
}
