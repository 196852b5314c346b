//! A fault-injecting HTTP/1.1 proxy for the emulator, listening on 127.0.0.1 only.
//!
//! Every client connection carries one request (the proxy asks the emulator to close after its
//! answer and relays that `Connection: close`, so the SDK opens a fresh connection per request).
//! For each request it draws:
//! - with `error_rate`: answers itself with `503 SlowDown` or `500 InternalError` (S3 XML), the
//!   request never reaching the emulator;
//! - with `reset_rate`: forwards the request, then relays only half of the emulator's answer and
//!   resets the connection (RST), so the client sees a connection cut mid-body. The emulator did
//!   act on the request: a PUT or UploadPart may have landed although the client saw a failure.
//! - otherwise: relays the request and the answer unchanged.
//!
//! Besides the draws, [`FaultProxy::cut_next_ranged_gets`] cuts the next N ranged GETs (part
//! reads) mid-body the same way, for tests that need a source read to break for certain.
//!
//! Besides the faults, the proxy applies the named rules of [`crate::s3_rules`] that make the
//! emulator answer as real S3 does (KMS ETags, archived objects, regions, requester pays,
//! damaged uploads): [`FaultProxy::rules`] sets them.
//!
//! It stops when its handle is dropped.

mod http;

use crate::s3_rules::{Answer, Request, S3Rules, SharedRules};
use http::{
    answer_bytes, body_left, close_after, drain_body, header_lines, read_body, read_head, rewrite, throttled_copy,
};
use rand::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head the proxy reads (S3 heads are a few KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Body bytes of an UploadPart that pass before `pause_uploads` stops it.
const PAUSE_AFTER_BYTES: u64 = 64 * 1024;
/// How long one relayed request may take before the proxy gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What the proxy did, for assertions.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub resets: AtomicU64,
    /// UploadPart requests seen (`PUT ...?partNumber=`), whatever became of them.
    pub upload_parts: AtomicU64,
    /// HEAD requests seen (HeadObject).
    pub heads: AtomicU64,
    /// Requests per operation: `dynamodb:BatchWriteItem`, `sqs:SendMessage` (from the JSON
    /// protocols' `X-Amz-Target`), `s3:GET`, `s3:PUT`, `s3:PUT-copy`, `s3:LIST`...
    pub operations: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// DynamoDB items written (PutItem, UpdateItem, DeleteItem: one; BatchWriteItem: each put
    /// or delete), for write units.
    pub items_written: AtomicU64,
    /// DynamoDB items asked for (GetItem: one; BatchGetItem: each key), for read units.
    pub items_read: AtomicU64,
}

impl FaultCounts {
    /// The counts as JSON: `{"requests":N,"items_written":W,"operations":{...}}`.
    pub fn to_json(&self) -> String {
        let ops = self.operations.lock().map(|m| m.clone()).unwrap_or_default();
        serde_json::json!({
            "requests": self.requests.load(Ordering::Relaxed),
            "items_written": self.items_written.load(Ordering::Relaxed),
            "items_read": self.items_read.load(Ordering::Relaxed),
            "operations": ops,
        })
        .to_string()
    }

    /// Counts one request by its operation; reads a DynamoDB write's body to count its items.
    async fn count_operation(&self, client: &mut TcpStream, head: &[u8], rest: &mut Vec<u8>) -> std::io::Result<()> {
        let target = header_lines(head).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case("x-amz-target").then(|| v.trim().to_owned())
        });
        let op = match &target {
            Some(t) => {
                let (service, action) = t.split_once('.').unwrap_or(("", t));
                let service = if service.starts_with("DynamoDB") { "dynamodb" } else { "sqs" };
                if service == "dynamodb" {
                    let items = match action {
                        "PutItem" | "UpdateItem" | "DeleteItem" => 1,
                        "BatchWriteItem" => {
                            read_body(client, head, rest).await?;
                            let body = String::from_utf8_lossy(rest);
                            (body.matches("\"PutRequest\"").count() + body.matches("\"DeleteRequest\"").count()) as u64
                        }
                        _ => 0,
                    };
                    self.items_written.fetch_add(items, Ordering::Relaxed);
                    let read = match action {
                        "GetItem" => 1,
                        "BatchGetItem" => {
                            read_body(client, head, rest).await?;
                            // Each key is `{"Key":{"S":...}}` (the ledger's key attribute).
                            String::from_utf8_lossy(rest).matches("{\"Key\":").count() as u64
                        }
                        _ => 0,
                    };
                    self.items_read.fetch_add(read, Ordering::Relaxed);
                }
                format!("{service}:{action}")
            }
            None => {
                let req = Request::parse(head);
                let kind = match req.method.as_str() {
                    "PUT" if req.header("x-amz-copy-source").is_some() => "PUT-copy",
                    "GET" if req.key.is_empty() => "LIST",
                    m => m,
                };
                format!("s3:{kind}")
            }
        };
        if let Ok(mut m) = self.operations.lock() {
            *m.entry(op).or_default() += 1;
        }
        Ok(())
    }

    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.resets.load(Ordering::Relaxed),
        )
    }
}

/// What the proxy is asked to do.
struct Faults {
    error_rate: f64,
    reset_rate: f64,
    /// Ranged GETs still to cut mid-body.
    cut_ranged_gets: AtomicU64,
}

/// A running proxy; dropping it stops it.
pub struct FaultProxy {
    pub url: String,
    pub counts: Arc<FaultCounts>,
    faults: Arc<Faults>,
    /// The real-S3 rules in force, with what they did.
    pub rules: Arc<SharedRules>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:4566`).
    pub async fn start(upstream: &str, error_rate: f64, reset_rate: f64) -> anyhow::Result<Self> {
        let upstream: SocketAddr =
            upstream.trim_start_matches("http://").trim_end_matches('/').parse().map_err(|e| {
                anyhow::anyhow!("the fault proxy needs an http://IP:PORT upstream, not {upstream}: {e}")
            })?;
        anyhow::ensure!(upstream.ip().is_loopback(), "the fault proxy only forwards to loopback, not {upstream}");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(FaultCounts::default());
        let faults = Arc::new(Faults { error_rate, reset_rate, cut_ranged_gets: AtomicU64::new(0) });
        let rules = Arc::new(SharedRules::default());
        let (c, f, r) = (counts.clone(), faults.clone(), rules.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (c, f, r) = (c.clone(), f.clone(), r.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REQUEST_TIMEOUT, serve(client, upstream, &f, &c, &r)).await;
                });
            }
        });
        Ok(Self { url, counts, faults, rules, task })
    }

    /// A proxy that injects no random faults, only the rules set on it.
    pub async fn rules_only(upstream: &str) -> anyhow::Result<Self> {
        Self::start(upstream, 0.0, 0.0).await
    }

    /// The rules, to set them (see [`S3Rules`]).
    pub fn set(&self) -> std::sync::MutexGuard<'_, S3Rules> {
        self.rules.rules.lock().expect("rules lock")
    }

    /// A copy of `client` whose requests pass through this proxy.
    pub fn client(&self, client: &aws_sdk_s3::Client) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(client.config().to_builder().endpoint_url(&self.url).build())
    }

    /// Cuts the next `n` ranged GETs mid-body with a connection reset.
    pub fn cut_next_ranged_gets(&self, n: u64) {
        self.faults.cut_ranged_gets.store(n, Ordering::Relaxed);
    }
}

enum Fate {
    Pass,
    Error,
    Reset,
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    faults: &Faults,
    counts: &FaultCounts,
    rules: &SharedRules,
) -> std::io::Result<()> {
    let (head, mut rest) = read_head(&mut client).await?;
    counts.requests.fetch_add(1, Ordering::Relaxed);
    counts.count_operation(&mut client, &head, &mut rest).await?;
    let stripped = rules.rules.lock().expect("rules lock").gateway.strip_base_path(&head);
    let Some(head) = stripped else {
        // Outside the store's base path: nothing there.
        let req = Request::parse(&head);
        drain_body(&mut client, &head, &rest).await?;
        let none = crate::s3_rules::Answer { status: "404 Not Found", headers: vec![], code: Some("NoSuchBucket") };
        client.write_all(&answer_bytes(&none, &req)).await?;
        return client.shutdown().await;
    };
    let req = Request::parse(&head);
    let answer = {
        let mut r = rules.rules.lock().expect("rules lock");
        r.note(&req);
        r.answer(&req, &rules.counts)
    };
    if let Some(answer) = answer {
        drain_body(&mut client, &head, &rest).await?;
        client.write_all(&answer_bytes(&answer, &req)).await?;
        return client.shutdown().await;
    }
    let request_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    if request_line.starts_with(b"PUT ") && request_line.windows(11).any(|w| w == b"partNumber=") {
        counts.upload_parts.fetch_add(1, Ordering::Relaxed);
    }
    if request_line.starts_with(b"HEAD ") && !req.key.is_empty() {
        counts.heads.fetch_add(1, Ordering::Relaxed);
    }
    let ranged_get = request_line.starts_with(b"GET ")
        && header_lines(&head).any(|l| l.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("range")));
    let cut_this = ranged_get
        && faults.cut_ranged_gets.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
    let draw: f64 = rand::rng().random();
    let fate = if cut_this {
        Fate::Reset
    } else if draw < faults.error_rate {
        Fate::Error
    } else if draw < faults.error_rate + faults.reset_rate {
        Fate::Reset
    } else {
        Fate::Pass
    };
    if let Fate::Error = fate {
        counts.errors.fetch_add(1, Ordering::Relaxed);
        drain_body(&mut client, &head, &rest).await?;
        let (status, code) = if rand::rng().random_bool(0.5) {
            ("503 Slow Down", "SlowDown")
        } else {
            ("500 Internal Server Error", "InternalError")
        };
        let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>");
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    let (rewrite_request, rewrite_answer, head) = {
        let r = rules.rules.lock().expect("rules lock");
        (r.rewrites_request(&req), r.rewrites_answer(&req), r.rewrite_request_head(&req, &head))
    };
    if rewrite_request {
        read_body(&mut client, &head, &mut rest).await?;
        rules.rules.lock().expect("rules lock").rewrite_request_body(&req, &mut rest, &rules.counts);
    }
    rules.hold.wait_if_held(&req).await;
    if let Some(wait) = rules.request_latency() {
        tokio::time::sleep(wait).await;
    }
    if let Some(takes) = rules.copy_time(&req) {
        tokio::time::sleep(takes).await;
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&close_after(&head)).await?;
    server.write_all(&rest).await?;
    rules.rules.lock().expect("rules lock").forwarded(&req);
    let reset = matches!(fate, Fate::Reset);
    if rules.rules.lock().expect("rules lock").dead() {
        // The request reached S3; its answer is lost with the worker.
        if !rewrite_request {
            tokio::io::copy(&mut (&mut client).take(body_left(&head, &rest)), &mut server).await?;
        }
        let mut answer = Vec::new();
        server.read_to_end(&mut answer).await?;
        let lost = Answer { status: "503 Slow Down", headers: vec![], code: Some("SlowDown") };
        client.write_all(&answer_bytes(&lost, &req)).await?;
        return client.shutdown().await;
    }
    if rewrite_answer && !reset {
        if !rewrite_request {
            tokio::io::copy(&mut (&mut client).take(body_left(&head, &rest)), &mut server).await?;
        }
        let mut answer = Vec::new();
        server.read_to_end(&mut answer).await?;
        let rewritten = rewrite(&answer, &req, &rules.rules.lock().expect("rules lock"));
        client.write_all(&rewritten).await?;
        return client.shutdown().await;
    }
    {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        // The rest of the request body goes up while the answer comes down.
        let (rate, pause) = (rules.upload_rate(&req), rules.upload_pause(&req));
        let up = async {
            if let Some(pause) = pause {
                // The first bytes pass, then the link stops moving for a while.
                tokio::io::copy(&mut (&mut client_read).take(PAUSE_AFTER_BYTES), &mut server_write).await?;
                tokio::time::sleep(pause).await;
            }
            match rate {
                None => tokio::io::copy(&mut client_read, &mut server_write).await.map(|_| ()),
                Some(rate) => throttled_copy(&mut client_read, &mut server_write, rate).await,
            }
        };
        let down = async {
            if reset {
                let mut answer = Vec::new();
                server_read.read_to_end(&mut answer).await?;
                client_write.write_all(&answer[..answer.len() / 2]).await?;
                client_write.flush().await
            } else {
                tokio::io::copy(&mut server_read, &mut client_write).await.map(|_| ())
            }
        };
        tokio::pin!(up, down);
        let mut up_done = false;
        loop {
            tokio::select! {
                r = &mut down => { r?; break; }
                _ = &mut up, if !up_done => up_done = true,
            }
        }
    }
    if reset {
        counts.resets.fetch_add(1, Ordering::Relaxed);
        // Closing with a zero linger sends RST: the client sees the connection reset mid-body.
        #[allow(deprecated)]
        client.set_linger(Some(Duration::ZERO))?;
        drop(client);
        return Ok(());
    }
    client.shutdown().await
}
