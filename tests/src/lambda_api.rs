//! A Lambda Runtime API (version 2018-06-01) for one function process, with Lambda's timeout.
//!
//! cargo-lambda's emulator (`tests/tests/lambda_runtime.rs`) answers every `invocation/next`
//! with `Lambda-Runtime-Deadline-Ms: 600000`, a duration where Lambda sends the deadline as
//! Unix time in milliseconds (Lambda Developer Guide, "Using the Lambda runtime API"), and it
//! never stops a function that runs past it. So a function timeout cannot be tested there.
//! This one does what Lambda does ("Configure Lambda function timeout"; "Understanding the
//! Lambda execution environment lifecycle"): each invocation gets the deadline `now + timeout`
//! as Unix milliseconds; a function still running then is stopped (SIGKILL) and the invoker
//! gets `Sandbox.Timedout`; the next invocation starts a new process (a cold start).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoked {
    /// The function answered (`invocation/{id}/response`).
    Response(serde_json::Value),
    /// The function reported an error (`invocation/{id}/error`).
    Error(String),
    /// The function was still running at its deadline and was stopped.
    TimedOut,
}

struct Invocation {
    id: String,
    event: Vec<u8>,
    deadline_ms: u128,
}

type Replies = Arc<Mutex<HashMap<String, oneshot::Sender<Invoked>>>>;

/// One function binary served by its own runtime API.
pub struct FunctionUnderTest {
    bin: PathBuf,
    env: Vec<(String, String)>,
    timeout: Duration,
    api: String,
    queue: mpsc::UnboundedSender<Invocation>,
    replies: Replies,
    child: tokio::sync::Mutex<Option<Child>>,
    served: tokio::task::JoinHandle<()>,
}

impl Drop for FunctionUnderTest {
    fn drop(&mut self) {
        self.served.abort();
        if let Some(mut child) = self.child.get_mut().take() {
            let _ = child.start_kill();
        }
    }
}

impl FunctionUnderTest {
    /// Serves the runtime API for `bin`, started with `env` on the first invocation.
    pub async fn start(bin: PathBuf, env: Vec<(String, String)>, timeout: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api = format!("127.0.0.1:{}", listener.local_addr()?.port());
        let (queue, pending) = mpsc::unbounded_channel();
        let pending = Arc::new(tokio::sync::Mutex::new(pending));
        let replies: Replies = Arc::default();
        let served = tokio::spawn({
            let replies = replies.clone();
            async move {
                while let Ok((conn, _)) = listener.accept().await {
                    tokio::spawn(serve(conn, pending.clone(), replies.clone()));
                }
            }
        });
        Ok(Self { bin, env, timeout, api, queue, replies, child: tokio::sync::Mutex::new(None), served })
    }

    /// Invokes the function with `event` and waits for its end (at most the timeout).
    pub async fn invoke(&self, event: &serde_json::Value) -> anyhow::Result<(Invoked, Duration)> {
        let mut child = self.child.lock().await;
        if child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some()) {
            *child = Some(
                Command::new(&self.bin)
                    .envs(self.env.iter().cloned())
                    .env("AWS_LAMBDA_RUNTIME_API", &self.api)
                    .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
                    .env("AWS_LAMBDA_FUNCTION_TIMEOUT", self.timeout.as_secs().to_string())
                    .kill_on_drop(true)
                    .spawn()?,
            );
        }
        let started = Instant::now();
        let deadline = SystemTime::now() + self.timeout;
        let id = crate::unique("invocation");
        let (tx, rx) = oneshot::channel();
        self.replies.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), tx);
        let deadline_ms = deadline.duration_since(UNIX_EPOCH)?.as_millis();
        self.queue.send(Invocation { id: id.clone(), event: event.to_string().into_bytes(), deadline_ms })?;
        let ended = match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(ended)) => ended,
            Ok(Err(_)) => anyhow::bail!("the runtime API dropped invocation {id}"),
            Err(_) => {
                self.replies.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(mut c) = child.take() {
                    c.kill().await?;
                }
                Invoked::TimedOut
            }
        };
        Ok((ended, started.elapsed()))
    }
}

/// Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), for a function that
/// invokes itself asynchronously (the jobsender's continuation). Lambda answers an `Event`
/// invocation with 202 and queues the event; this one queues it for the test, which plays
/// Lambda's part: it delivers each event to the handler, and delivers it again where Lambda
/// would retry.
pub struct InvokeApi {
    pub url: String,
    invoked: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    served: tokio::task::JoinHandle<()>,
}

impl Drop for InvokeApi {
    fn drop(&mut self) {
        self.served.abort();
    }
}

impl InvokeApi {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let invoked: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let served = tokio::spawn({
            let invoked = invoked.clone();
            async move {
                while let Ok((conn, _)) = listener.accept().await {
                    let invoked = invoked.clone();
                    tokio::spawn(async move {
                        let mut conn = BufReader::new(conn);
                        while let Ok(Some((method, path, body))) = read_request(&mut conn).await {
                            let name = path
                                .strip_prefix("/2015-03-31/functions/")
                                .and_then(|r| r.strip_suffix("/invocations"))
                                .filter(|_| method == "POST");
                            let answer: &[u8] = match name {
                                Some(name) => {
                                    let event = serde_json::from_slice(&body).unwrap_or_default();
                                    invoked.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_owned(), event));
                                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
                                }
                                None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
                            };
                            if conn.get_mut().write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        Ok(Self { url, invoked, served })
    }

    /// The asynchronous invocations made since the last call: function name and event.
    pub fn take(&self) -> Vec<(String, serde_json::Value)> {
        std::mem::take(&mut *self.invoked.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One connection of the function's runtime client (kept alive, one request at a time).
async fn serve(
    conn: TcpStream,
    pending: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    replies: Replies,
) {
    let mut conn = BufReader::new(conn);
    loop {
        let Ok(Some((method, path, body))) = read_request(&mut conn).await else { return };
        let answer = match (method.as_str(), path.trim_start_matches("/2018-06-01/runtime/")) {
            ("GET", "invocation/next") => {
                let Some(inv) = pending.lock().await.recv().await else { return };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {}\r\nlambda-runtime-deadline-ms: {}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:under-test\r\ncontent-length: {}\r\n\r\n",
                    inv.id,
                    inv.deadline_ms,
                    inv.event.len()
                );
                [head.into_bytes(), inv.event].concat()
            }
            ("POST", rest) => {
                let ended = match rest.strip_prefix("invocation/").and_then(|r| r.rsplit_once('/')) {
                    Some((id, "response")) => {
                        Some((id, Invoked::Response(serde_json::from_slice(&body).unwrap_or_default())))
                    }
                    Some((id, "error")) => Some((id, Invoked::Error(String::from_utf8_lossy(&body).into_owned()))),
                    _ => None, // init/error: the process exits; the invoker times out or sees it gone.
                };
                if let Some((id, ended)) = ended {
                    if let Some(tx) = replies.lock().unwrap_or_else(|e| e.into_inner()).remove(id) {
                        let _ = tx.send(ended);
                    }
                }
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".to_vec()
            }
            _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
        };
        if conn.get_mut().write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// Method, path and body of the next request on the connection; `None` when it closed.
async fn read_request(conn: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        conn.read_line(&mut header).await?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            conn.read_exact(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        conn.read_exact(&mut body).await?;
    }
    Ok(Some((method, path, body)))
}
