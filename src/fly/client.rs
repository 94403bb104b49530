//! The typed Fly API client: Machines API calls plus the GraphQL release query.
//! Idempotent calls retry transient failures with jittered backoff (honouring
//! Retry-After); a create is resent only when the failure proves nothing was created.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use reqwest::Method;
use serde_json::{json, Value};

use super::limit::{Action, Buckets};
use super::{auth, AppInfo, CreateMachine, FlyError, Machine};
use crate::config::Secret;

pub const DEFAULT_MACHINES_URL: &str = "https://api.machines.dev";
pub const DEFAULT_GRAPHQL_URL: &str = "https://api.fly.io/graphql";

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Machines API base, without `/v1`.
    pub machines_url: String,
    pub graphql_url: String,
    pub token: Secret,
    /// Limit for one HTTP request.
    pub request_timeout: Duration,
    /// Retries after the first attempt of an idempotent call.
    pub max_retries: u32,
    /// Keep under Fly's documented per-action limits (on by default).
    pub rate_limit: bool,
}

impl ClientOptions {
    /// The Machines API at `base` and GraphQL at `{base}/graphql` (a `fas sim`, say),
    /// with the default timeout, retries and rate limiting.
    pub fn for_base(base: &str, token: Secret) -> ClientOptions {
        ClientOptions {
            machines_url: base.to_string(),
            graphql_url: format!("{base}/graphql"),
            token,
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            rate_limit: true,
        }
    }

    /// Base URLs from `FAS_MACHINES_API_URL` (or fly-go's `FLY_FLAPS_BASE_URL`) and
    /// `FAS_GRAPHQL_URL`, else the public endpoints.
    pub fn from_env(env: crate::config::Env, token: Secret) -> ClientOptions {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        ClientOptions {
            machines_url: get("FAS_MACHINES_API_URL")
                .or_else(|| get("FLY_FLAPS_BASE_URL"))
                .unwrap_or_else(|| DEFAULT_MACHINES_URL.into()),
            graphql_url: get("FAS_GRAPHQL_URL").unwrap_or_else(|| DEFAULT_GRAPHQL_URL.into()),
            token,
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            rate_limit: true,
        }
    }
}

pub struct FlyClient {
    pub(super) http: reqwest::Client,
    pub(super) machines_url: String,
    pub(super) graphql_url: String,
    pub(super) flaps_auth: Option<HeaderValue>,
    pub(super) graphql_auth: Option<HeaderValue>,
    pub(super) max_retries: u32,
    pub(super) limits: Option<Buckets>,
    request_timeout: Duration,
    /// Requests resent after a transient failure, by action: Fly's flakiness that
    /// the retries absorbed, for `/metrics`.
    pub(super) retried: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for FlyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlyClient")
            .field("machines_url", &self.machines_url)
            .field("graphql_url", &self.graphql_url)
            .finish_non_exhaustive()
    }
}

fn auth_value(token: &Secret, graphql: bool) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&auth::header(token.expose(), graphql)?).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// How a request may be retried.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Retry {
    /// GET, start, stop, destroy: any transient failure.
    Idempotent,
    /// create: only when the failure proves nothing happened.
    OnlyIfNotApplied,
}

impl FlyClient {
    pub fn new(opts: ClientOptions) -> Result<FlyClient, FlyError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("fas/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(opts.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| FlyError::Transport {
                call: "client setup".into(),
                msg: e.to_string(),
                sent: false,
            })?;
        Ok(FlyClient {
            http,
            machines_url: opts.machines_url.trim_end_matches('/').to_string(),
            graphql_url: opts.graphql_url,
            flaps_auth: auth_value(&opts.token, false),
            graphql_auth: auth_value(&opts.token, true),
            max_retries: opts.max_retries,
            limits: opts.rate_limit.then(Buckets::for_client),
            request_timeout: opts.request_timeout,
            retried: Default::default(),
        })
    }

    /// Requests resent so far, by action.
    pub fn retries(&self) -> Vec<(&'static str, u64)> {
        let r = self.retried.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// The limit of one HTTP request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    pub async fn list_machines(&self, app: &str) -> Result<Vec<Machine>, FlyError> {
        let v: Option<Vec<Machine>> = self
            .machines(
                Method::GET,
                Action::List,
                app,
                &format!("/apps/{app}/machines"),
                None,
            )
            .await?;
        Ok(v.unwrap_or_default())
    }

    pub async fn get_machine(&self, app: &str, id: &str) -> Result<Machine, FlyError> {
        self.machines(
            Method::GET,
            Action::Get,
            id,
            &format!("/apps/{app}/machines/{id}"),
            None,
        )
        .await
    }

    /// Creates a Machine. Never resent after a failure that may have created it
    /// (a timeout, a 5xx): the next reconcile re-lists and decides again.
    pub async fn create_machine(
        &self,
        app: &str,
        input: &CreateMachine,
    ) -> Result<Machine, FlyError> {
        let body = serde_json::to_value(input).map_err(|e| FlyError::Invalid {
            call: "create".into(),
            msg: e.to_string(),
        })?;
        self.machines(
            Method::POST,
            Action::Create,
            app,
            &format!("/apps/{app}/machines"),
            Some(body),
        )
        .await
    }

    /// Starts a `stopped`, `suspended` (resume) or never-launched `created` Machine.
    pub async fn start_machine(
        &self,
        app: &str,
        id: &str,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        let v: Value = self
            .machines_leased(
                Method::POST,
                Action::Start,
                id,
                &format!("/apps/{app}/machines/{id}/start"),
                None,
                nonce,
            )
            .await?;
        // Older answers report failure inside a 200 (flyctl checks this too).
        if v.get("status").and_then(Value::as_str) == Some("error") {
            let msg = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("start failed")
                .to_string();
            return Err(FlyError::Conflict {
                call: format!("start machine {id} of app {app}"),
                status: 200,
                msg,
            });
        }
        Ok(())
    }

    /// Stops a Machine with its own stop settings: fly-go's body, `{"id", "timeout": "0s"}`.
    pub async fn stop_machine(
        &self,
        app: &str,
        id: &str,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        self.stop_machine_with(app, id, &super::Drain::default(), nonce)
            .await
    }

    /// Suspends a started Machine (the next start resumes it from a snapshot).
    pub async fn suspend_machine(
        &self,
        app: &str,
        id: &str,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}/suspend");
        let _: Value = self
            .machines_leased(Method::POST, Action::Suspend, id, &path, None, nonce)
            .await?;
        Ok(())
    }

    /// Destroys a Machine; `force` kills a running one first (sent as `kill`, as fly-go does).
    pub async fn destroy_machine(
        &self,
        app: &str,
        id: &str,
        force: bool,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}?kill={force}");
        let _: Value = self
            .machines_leased(Method::DELETE, Action::Destroy, id, &path, None, nonce)
            .await?;
        Ok(())
    }

    /// Waits (server side, at most 60 s) for a Machine to reach `state`. Sends the
    /// Machine's `instance_id`, which older docs require for `stopped`.
    pub async fn wait_for_state(
        &self,
        app: &str,
        machine: &Machine,
        state: &str,
        timeout: Duration,
    ) -> Result<(), FlyError> {
        let secs = timeout.as_secs().clamp(1, 60);
        let id = &machine.id;
        let mut path = format!("/apps/{app}/machines/{id}/wait?state={state}&timeout={secs}");
        if !machine.instance_id.is_empty() {
            path.push_str(&format!("&instance_id={}", machine.instance_id));
        }
        let _: Value = self
            .machines(Method::GET, Action::Wait, id, &path, None)
            .await?;
        Ok(())
    }

    /// The apps of an org (for wildcard app names).
    /// The org's apps: id, name and Machine count (the rest of each entry is not
    /// kept: 100,000 apps are read into a few MB, not a tree of every field).
    pub async fn list_org_apps(&self, org: &str) -> Result<Vec<AppInfo>, FlyError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            #[serde(default)]
            apps: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(default)]
            id: String,
            name: String,
            #[serde(default)]
            machine_count: u64,
        }
        let listed: Listed = self
            .machines(
                Method::GET,
                Action::Apps,
                org,
                &format!("/apps?org_slug={org}"),
                None,
            )
            .await?;
        Ok(listed
            .apps
            .into_iter()
            .map(|e| AppInfo {
                id: e.id,
                name: e.name,
                machine_count: e.machine_count,
                ..AppInfo::default()
            })
            .collect())
    }

    /// The status of the app's current release (`running` during a deploy); `None`
    /// when the app has no release, which means "not running".
    pub async fn current_release_status(&self, app: &str) -> Result<Option<String>, FlyError> {
        let call = format!("current release of app {app}");
        let query = "query ($appName: String!) { app(name: $appName) { currentRelease: currentReleaseUnprocessed { id version status createdAt } } }";
        let body = json!({"query": query, "variables": {"appName": app}});
        let v: Value = self
            .send(
                &call,
                Method::POST,
                &self.graphql_url,
                Some(body),
                (true, None),
                Action::Apps,
                app,
                Retry::Idempotent,
            )
            .await?;
        if let Some(err) = v.get("errors").and_then(|e| e.get(0)) {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("GraphQL error")
                .to_string();
            let code = err
                .pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("");
            return Err(match code {
                "NOT_FOUND" => FlyError::NotFound { call, msg },
                "UNAUTHORIZED" => FlyError::BadToken {
                    call,
                    status: 200,
                    msg,
                },
                _ => FlyError::Invalid { call, msg },
            });
        }
        Ok(v.pointer("/data/app/currentRelease/status")
            .and_then(Value::as_str)
            .map(str::to_string))
    }
}
