//! A chaos proxy between flowgate and the emulator. It can add latency to every request, answer a
//! deterministic (seeded) fraction of requests with throttling or server errors, and counts
//! requests by AWS action so tests can assert how many mutating calls a run made.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The service's throttling error (EC2 RequestLimitExceeded 503, S3 SlowDown 503, others
    /// Throttling 400).
    Throttle,
    /// HTTP 500 InternalError.
    ServerError,
    /// The connection is dropped without an answer.
    Reset,
    /// The answer comes only after this long (beyond the client's timeout).
    Slow(Duration),
}

#[derive(Debug, Clone)]
pub struct FaultRule {
    /// `ec2`, `s3`, `sts`, ... (the SigV4 signing name); `None` for any.
    pub service: Option<String>,
    /// The signing region; `None` for any.
    pub region: Option<String>,
    /// Fraction of matching requests to fault, 0.0 to 1.0.
    pub fraction: f64,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub service: String,
    pub region: String,
    pub action: String,
    pub mutating: bool,
    pub faulted: bool,
    /// The request's body as text (form-encoded or JSON parameters), to assert what was asked
    /// where the emulator ignores it.
    pub body: String,
    /// Who signed it: the access key id of the SigV4 credential scope.
    pub access_key: String,
    /// The HTTP method, path (percent-encoded, as sent) and query: an S3 request's operation and
    /// bucket or object (see `support::authorization`).
    pub method: String,
    pub path: String,
    pub query: String,
    /// The request's `x-amz-*` headers that say what to do (`x-amz-object-ownership`,
    /// `x-amz-acl`, ...), in lower case; not the signature's.
    pub amz_headers: Vec<(String, String)>,
    /// The request's headers (names in lower case): S3 takes some parameters only as headers.
    pub headers: Vec<(String, String)>,
}

impl RequestRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Rewrites the emulator's answer body to one action: reproduces an AWS answer the emulator never
/// gives (a VPC shared from another account, a failed flow-log delivery).
type Rewrite = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// What AWS does besides answering a call (see [`ChaosProxy::after_forwarding`]): given the
/// request (its signing region, signer, body).
type SideEffect = Arc<dyn Fn(RequestRecord) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Default)]
struct ProxyState {
    /// (action, only for requests signed with credentials AssumeRole issued for this role ARN,
    /// the rewrite).
    rewrites: Mutex<Vec<(String, Option<String>, Rewrite)>>,
    /// The role ARN each access key AssumeRole issued through the proxy is for: requests signed
    /// with it are that role's (an account's own answers, such as its opt-in regions).
    issued: Mutex<BTreeMap<String, String>>,
    /// (action, header, value): set on every answer to the action (see [`ChaosProxy::set_response_header`]).
    response_headers: Mutex<Vec<(String, String, String)>>,
    upstream: String,
    latency: Mutex<Duration>,
    faults: Mutex<Vec<FaultRule>>,
    seed: Mutex<u64>,
    ordinal: Mutex<u64>,
    log: Mutex<Vec<RequestRecord>>,
    /// Actions forwarded to the emulator (so they take effect) and then answered with a 500.
    fail_after_forwarding: Mutex<Vec<String>>,
    /// Every request for one action answered with a fault (see [`ChaosProxy::fault_action`]).
    action_faults: Mutex<Vec<(String, FaultKind)>>,
    /// The request held open (see [`ChaosProxy::hold`]).
    hold: Mutex<Option<Hold>>,
    /// Actions answered by the proxy itself (see [`ChaosProxy::answer`]).
    answers: Mutex<Vec<Answer>>,
    /// (access key, service, account): see [`ChaosProxy::act_in_account`].
    acting: Mutex<Vec<(String, String, String)>>,
    /// (action, what AWS does besides the call): see [`ChaosProxy::after_forwarding`].
    side_effects: Mutex<Vec<(String, SideEffect)>>,
}

/// An answer the proxy gives itself: to `action` (whose request body contains `when`, if set),
/// `times` times (or always).
struct Answer {
    action: String,
    /// Only requests signed for this region (`None`: any).
    region: Option<String>,
    when: Option<String>,
    times: Option<usize>,
    status: u16,
    body: String,
}

/// Holds the `nth` request for `action` before it reaches the emulator, until released: a test
/// then knows exactly which step a run is in when it signals the process.
struct Hold {
    action: String,
    nth: usize,
    seen: usize,
    held: Arc<std::sync::atomic::AtomicBool>,
    release: tokio::sync::watch::Sender<bool>,
}

pub struct ChaosProxy {
    pub port: u16,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl ChaosProxy {
    pub fn start(upstream_port: u16) -> ChaosProxy {
        let state = Arc::new(ProxyState { upstream: format!("http://127.0.0.1:{upstream_port}"), seed: Mutex::new(42), ..ProxyState::default() });
        let rt = runtime();
        let listener = rt.block_on(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))).expect("bind the chaos proxy on loopback");
        let port = listener.local_addr().expect("proxy address").port();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let accept_state = state.clone();
        let task = rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = accept_state.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), client.clone(), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        ChaosProxy { port, state, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Used by the benchmarks (examples/chaos_proxy.rs).
    #[allow(dead_code)]
    pub fn set_latency(&self, latency: Duration) {
        *self.state.latency.lock().unwrap() = latency;
    }

    pub fn set_seed(&self, seed: u64) {
        *self.state.seed.lock().unwrap() = seed;
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.state.faults.lock().unwrap().push(rule);
    }

    /// Every request for `action` is answered with `status` and `body` by the proxy, without
    /// reaching the emulator: an AWS answer to an operation the emulator cannot serve at all.
    pub fn answer(&self, action: &str, status: u16, body: &str) {
        self.state.answers.lock().unwrap().push(Answer {
            action: action.to_owned(),
            region: None,
            when: None,
            times: None,
            status,
            body: body.to_owned(),
        });
    }

    /// Like [`ChaosProxy::answer`], only for requests whose body contains `when` (a role ARN, an
    /// account id), and only the first `times` of them (`None`: all).
    #[allow(dead_code)]
    pub fn answer_when(&self, action: &str, when: Option<&str>, times: Option<usize>, status: u16, body: &str) {
        self.state.answers.lock().unwrap().push(Answer {
            action: action.to_owned(),
            region: None,
            when: when.map(str::to_owned),
            times,
            status,
            body: body.to_owned(),
        });
    }

    /// Like [`ChaosProxy::answer`], only for requests signed for `region`: an answer one region
    /// gives (an organization's region-deny policy, a region not enabled).
    #[allow(dead_code)]
    pub fn answer_in_region(&self, action: &str, region: &str, status: u16, body: &str) {
        self.state.answers.lock().unwrap().push(Answer {
            action: action.to_owned(),
            region: Some(region.to_owned()),
            when: None,
            times: None,
            status,
            body: body.to_owned(),
        });
    }

    /// The proxy no longer answers `action` itself (see [`ChaosProxy::answer`]): the service
    /// answers again (a role that trusts the caller again).
    #[allow(dead_code)]
    pub fn forget_answers(&self, action: &str) {
        self.state.answers.lock().unwrap().retain(|a| a.action != action);
    }

    /// Requests to `service` (the signing name) signed with access key `key` reach the emulator
    /// as account `account`'s (moto's `x-moto-account-id` header): where AWS answers a caller
    /// with another account's resources. A delegated administrator's StackSets calls
    /// (`CallAs=DELEGATED_ADMIN`) act on the StackSets of the management account, where they
    /// live, and it reads the organization as the management account does; moto keeps both per
    /// calling account.
    #[allow(dead_code)]
    pub fn act_in_account(&self, key: &str, service: &str, account: &str) {
        self.state.acting.lock().unwrap().push((key.to_owned(), service.to_owned(), account.to_owned()));
    }

    /// Every answer to `action` (e.g. `DescribeVpcs`) passes through `rewrite` on its way back.
    pub fn rewrite_response(&self, action: &str, rewrite: impl Fn(&str) -> String + Send + Sync + 'static) {
        self.state.rewrites.lock().unwrap().push((action.to_owned(), None, Arc::new(rewrite)));
    }

    /// Like [`ChaosProxy::rewrite_response`], only for requests signed with credentials that
    /// AssumeRole (through this proxy) issued for `role_arn`: what one account answers for itself
    /// (the regions enabled for it).
    #[allow(dead_code)]
    pub fn rewrite_response_for(&self, action: &str, role_arn: &str, rewrite: impl Fn(&str) -> String + Send + Sync + 'static) {
        self.state.rewrites.lock().unwrap().push((action.to_owned(), Some(role_arn.to_owned()), Arc::new(rewrite)));
    }

    /// Every answer to `action` (e.g. `GET lifecycle`) carries the header `name: value`, replacing
    /// the emulator's: an AWS answer header the emulator never sends, or sends with another value.
    pub fn set_response_header(&self, action: &str, name: &str, value: &str) {
        self.state.response_headers.lock().unwrap().push((action.to_owned(), name.to_ascii_lowercase(), value.to_owned()));
    }

    /// After the emulator has applied each `action` request, and before the caller sees the
    /// answer, `effect` runs with the request (its signing region, signer, body): what AWS does besides
    /// the call that the emulator does not (the log delivery service writing the bucket policy
    /// when the bucket's owner creates a flow log). `effect` talks to the emulator directly.
    #[allow(dead_code)]
    pub fn after_forwarding<F>(&self, action: &str, effect: impl Fn(RequestRecord) -> F + Send + Sync + 'static)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let effect: SideEffect = Arc::new(move |request| Box::pin(effect(request)));
        self.state.side_effects.lock().unwrap().push((action.to_owned(), effect));
    }

    /// Every `action` request reaches the emulator, which applies it, and is then answered with
    /// HTTP 500: the service did the work but the caller saw an error (and retries).
    pub fn fail_after_forwarding(&self, action: &str) {
        self.state.fail_after_forwarding.lock().unwrap().push(action.to_owned());
    }

    /// Every request for `action` (e.g. `PUT policy`, `CreateFlowLogs`) is answered with `kind`,
    /// whatever the seed: one step of a plan fails, the others do not.
    pub fn fault_action(&self, action: &str, kind: FaultKind) {
        self.state.action_faults.lock().unwrap().push((action.to_owned(), kind));
    }

    /// Holds the `nth` (1-based) request for `action` (e.g. `DeleteFlowLogs`) open, not yet
    /// forwarded, until [`ChaosProxy::release`]; [`ChaosProxy::wait_until_held`] waits for it.
    pub fn hold(&self, action: &str, nth: usize) {
        let (release, _) = tokio::sync::watch::channel(false);
        *self.state.hold.lock().unwrap() = Some(Hold { action: action.to_owned(), nth, seen: 0, held: Arc::default(), release });
    }

    /// Waits (up to `timeout`) until the held request has arrived; whether it did.
    pub fn wait_until_held(&self, timeout: Duration) -> bool {
        let held = match self.state.hold.lock().unwrap().as_ref() {
            Some(hold) => hold.held.clone(),
            None => return false,
        };
        let deadline = std::time::Instant::now() + timeout;
        while !held.load(std::sync::atomic::Ordering::SeqCst) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Lets the held request (and any later one) through to the emulator.
    pub fn release(&self) {
        if let Some(hold) = self.state.hold.lock().unwrap().as_ref() {
            let _ = hold.release.send(true);
        }
    }

    pub fn clear_faults(&self) {
        self.state.faults.lock().unwrap().clear();
        self.state.fail_after_forwarding.lock().unwrap().clear();
        self.state.action_faults.lock().unwrap().clear();
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn reset_log(&self) {
        self.state.log.lock().unwrap().clear();
    }

    /// The mutating calls that reached (or were faulted on the way to) the emulator, in order.
    pub fn mutating_calls(&self) -> Vec<String> {
        self.requests().into_iter().filter(|r| r.mutating).map(|r| format!("{}:{}", r.service, r.action)).collect()
    }

    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in self.requests() {
            *counts.entry(format!("{}:{}", r.service, r.action)).or_default() += 1;
        }
        counts
    }

    pub fn faulted(&self) -> usize {
        self.requests().iter().filter(|r| r.faulted).count()
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The text between `<tag>` and `</tag>`.
fn xml_value(text: &str, tag: &str) -> Option<String> {
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_owned())
}

/// (service, region) from a SigV4 `Authorization: ... Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn signing_scope(req: &Request<Incoming>) -> (String, String) {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let scope = auth.split("Credential=").nth(1).unwrap_or("").split(',').next().unwrap_or("");
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() >= 4 { (parts[3].to_owned(), parts[2].to_owned()) } else { ("unknown".into(), "unknown".into()) }
}

/// The access key id of a SigV4 `Authorization: ... Credential=AKID/DATE/REGION/SERVICE/...`.
fn signing_key(req: &Request<Incoming>) -> String {
    signing_key_of(req.headers())
}

fn signing_key_of(headers: &hyper::HeaderMap) -> String {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    auth.split("Credential=").nth(1).and_then(|scope| scope.split('/').next()).unwrap_or("unknown").to_owned()
}

/// The `x-amz-*` headers that carry parameters of the request (not its signature or checksums).
fn parameter_headers(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    const SIGNING: &[&str] = &["x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-amz-user-agent", "x-amz-target"];
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_ascii_lowercase(), value.to_str().unwrap_or("").to_owned()))
        .filter(|(name, _)| name.starts_with("x-amz-") && !SIGNING.contains(&name.as_str()) && !name.starts_with("x-amz-checksum"))
        .collect()
}

fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

const S3_SUBRESOURCES: &[&str] = &[
    "policy",
    "publicAccessBlock",
    "ownershipControls",
    "encryption",
    "lifecycle",
    "tagging",
    "location",
    "acl",
    "versioning",
    "object-lock",
    "list-type",
    "uploads",
    "uploadId",
    "delete",
];

/// The AWS action of a request and whether it changes anything.
fn classify(service: &str, method: &str, path: &str, query: &str, target: Option<&str>, body: &[u8]) -> (String, bool) {
    if let Some(target) = target {
        let action = target.rsplit('.').next().unwrap_or(target).to_owned();
        let mutating = is_mutating_action(&action);
        return (action, mutating);
    }
    let form = std::str::from_utf8(body).unwrap_or("");
    if let Some(action) = form_value(form, "Action").or_else(|| form_value(query, "Action")) {
        let mutating = is_mutating_action(&action);
        return (action, mutating);
    }
    // S3 (REST): METHOD plus the sub-resource, or bucket/object.
    let sub = query.split('&').map(|kv| kv.split('=').next().unwrap_or("")).find(|k| S3_SUBRESOURCES.contains(k));
    let target = match sub {
        Some(sub) => sub.to_owned(),
        None if path.trim_matches('/').contains('/') => "object".to_owned(),
        None => "bucket".to_owned(),
    };
    let mutating = service == "s3" && matches!(method, "PUT" | "POST" | "DELETE");
    (format!("{method} {target}"), mutating)
}

fn is_mutating_action(action: &str) -> bool {
    // AssumeRole issues credentials and changes no resource of any account.
    const READS: &[&str] = &["Get", "Describe", "List", "Head", "Validate", "Simulate", "Estimate", "Detect", "Lookup", "AssumeRole"];
    !READS.iter().any(|p| action.starts_with(p))
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fault_response(service: &str, kind: FaultKind) -> Response<Full<Bytes>> {
    let (status, code, message) = match (kind, service) {
        (FaultKind::Throttle, "ec2") => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (FaultKind::Throttle, "s3") => (503, "SlowDown", "Please reduce your request rate."),
        (FaultKind::Throttle, _) => (400, "Throttling", "Rate exceeded"),
        (FaultKind::ServerError | FaultKind::Reset | FaultKind::Slow(_), _) => {
            (500, "InternalError", "We encountered an internal error. Please try again.")
        }
    };
    let body = match service {
        "ec2" => format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>chaos</RequestID></Response>"
        ),
        "s3" => format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>chaos</RequestId></Error>"),
        _ => format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert("content-type", "text/xml".parse().unwrap());
    response
}

const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

async fn handle(
    state: Arc<ProxyState>,
    client: Client<HttpConnector, Full<Bytes>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (service, region) = signing_scope(&req);
    let access_key = signing_key(&req);
    let signer = state.issued.lock().unwrap().get(&access_key).cloned();
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (action, mutating) = classify(&service, parts.method.as_str(), &path, &query, target.as_deref(), &body);

    let fault = {
        let ordinal = {
            let mut n = state.ordinal.lock().unwrap();
            *n += 1;
            *n
        };
        let seed = *state.seed.lock().unwrap();
        let faults = state.faults.lock().unwrap();
        // One draw per request against the matching rules' cumulative fractions: two 10% rules
        // fault 20% of the requests, not the same 10% twice.
        let draw = (splitmix64(seed ^ ordinal.wrapping_mul(0x2545_F491_4F6C_DD1D)) >> 11) as f64 / (1u64 << 53) as f64;
        let mut threshold = 0.0;
        faults.iter().find_map(|rule| {
            let applies = rule.service.as_deref().is_none_or(|s| s == service) && rule.region.as_deref().is_none_or(|r| r == region);
            if !applies {
                return None;
            }
            threshold += rule.fraction;
            (draw < threshold).then_some(rule.kind)
        })
    };
    let fault = fault.or_else(|| state.action_faults.lock().unwrap().iter().find(|(a, _)| *a == action).map(|(_, kind)| *kind));
    let rewrites: Vec<Rewrite> = state
        .rewrites
        .lock()
        .unwrap()
        .iter()
        .filter(|(a, role, _)| *a == action && role.as_ref().is_none_or(|role| signer.as_ref() == Some(role)))
        .map(|(_, _, r)| r.clone())
        .collect();
    let fail_after = state.fail_after_forwarding.lock().unwrap().contains(&action);
    let action_name = action.clone();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let headers = parts.headers.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let set_headers: Vec<(String, String)> =
        state.response_headers.lock().unwrap().iter().filter(|(a, _, _)| *a == action).map(|(_, n, v)| (n.clone(), v.clone())).collect();
    let record = RequestRecord {
        service: service.clone(),
        region: region.clone(),
        action,
        mutating,
        faulted: fault.is_some() || fail_after,
        body: body_text.clone(),
        access_key,
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        query: query.clone(),
        amz_headers: parameter_headers(&parts.headers),
        headers,
    };
    state.log.lock().unwrap().push(record.clone());

    let released = {
        let mut hold = state.hold.lock().unwrap();
        match hold.as_mut().filter(|h| h.action == action_name) {
            Some(h) => {
                h.seen += 1;
                (h.seen == h.nth).then(|| {
                    h.held.store(true, std::sync::atomic::Ordering::SeqCst);
                    h.release.subscribe()
                })
            }
            None => None,
        }
    };
    if let Some(mut released) = released {
        while !*released.borrow() {
            if released.changed().await.is_err() {
                break;
            }
        }
    }

    let latency = *state.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        // An error from the service makes hyper drop the connection: the client sees a reset.
        Some(FaultKind::Reset) => return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "chaos: reset")),
        Some(FaultKind::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(kind) => return Ok(fault_response(&service, kind)),
        None => {}
    }

    let answer = {
        let mut answers = state.answers.lock().unwrap();
        answers
            .iter_mut()
            .rev()
            .find(|a| {
                a.action == action_name
                    && a.region.as_deref().is_none_or(|r| r == region)
                    && a.when.as_deref().is_none_or(|w| body_text.contains(w) || body_text.contains(&w.replace(':', "%3A").replace('/', "%2F")))
                    && a.times != Some(0)
            })
            .map(|a| {
                if let Some(times) = a.times.as_mut() {
                    *times -= 1;
                }
                (a.status, a.body.clone())
            })
    };
    if let Some((status, body)) = answer {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        response.headers_mut().insert("content-type", "text/xml".parse().unwrap());
        return Ok(response);
    }

    let uri = format!("{}{}", state.upstream, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut upstream = Request::builder().method(parts.method.clone()).uri(uri);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let signed_by = signing_key_of(&parts.headers);
    if let Some((_, _, account)) = state.acting.lock().unwrap().iter().find(|(key, s, _)| *key == signed_by && *s == service) {
        upstream = upstream.header("x-moto-account-id", account.as_str());
    }
    let Ok(upstream) = upstream.body(Full::new(body)) else {
        return Ok(fault_response(&service, FaultKind::ServerError));
    };
    let response = client.request(upstream).await;
    let effects: Vec<SideEffect> = state.side_effects.lock().unwrap().iter().filter(|(a, _)| *a == action_name).map(|(_, e)| e.clone()).collect();
    if response.is_ok() {
        for effect in effects {
            effect(record.clone()).await;
        }
    }
    match response {
        Ok(_) if fail_after => Ok(fault_response(&service, FaultKind::ServerError)),
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let mut body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            if action_name == "AssumeRole" {
                let issued = xml_value(&String::from_utf8_lossy(&body), "AccessKeyId");
                let role = form_value(&body_text, "RoleArn").map(|r| r.replace("%3A", ":").replace("%2F", "/"));
                if let (Some(key), Some(role)) = (issued, role) {
                    state.issued.lock().unwrap().insert(key, role);
                }
            }
            if !rewrites.is_empty() {
                let text = rewrites.iter().fold(String::from_utf8_lossy(&body).into_owned(), |text, rewrite| rewrite(&text));
                body = Bytes::from(text);
            }
            let mut out = Response::new(Full::new(body));
            *out.status_mut() = parts.status;
            for (name, value) in &parts.headers {
                // A rewritten body has another length: hyper sets it from the body.
                let stale_length = !rewrites.is_empty() && name.as_str() == "content-length";
                if !HOP_BY_HOP.contains(&name.as_str()) && !stale_length {
                    out.headers_mut().append(name, value.clone());
                }
            }
            for (name, value) in set_headers {
                if let (Ok(name), Ok(value)) = (hyper::header::HeaderName::from_bytes(name.as_bytes()), value.parse()) {
                    out.headers_mut().insert(name, value);
                }
            }
            Ok(out)
        }
        Err(_) => Ok(fault_response(&service, FaultKind::ServerError)),
    }
}
