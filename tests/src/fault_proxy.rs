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
//! It stops when its handle is dropped.

use rand::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head the proxy reads (S3 heads are a few KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;
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
}

impl FaultCounts {
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
        let (c, f) = (counts.clone(), faults.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (c, f) = (c.clone(), f.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REQUEST_TIMEOUT, serve(client, upstream, &f, &c)).await;
                });
            }
        });
        Ok(Self { url, counts, faults, task })
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
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    counts.requests.fetch_add(1, Ordering::Relaxed);
    let request_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    if request_line.starts_with(b"PUT ") && request_line.windows(11).any(|w| w == b"partNumber=") {
        counts.upload_parts.fetch_add(1, Ordering::Relaxed);
    }
    if request_line.starts_with(b"HEAD ") {
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
        // Read what the client sends of a body so that it sees the answer, not a broken pipe.
        if let Some(len) = content_length(&head) {
            let mut left = len.saturating_sub(rest.len() as u64);
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let n = client.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                left = left.saturating_sub(n as u64);
            }
        }
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
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&close_after(&head)).await?;
    server.write_all(&rest).await?;
    let reset = matches!(fate, Fate::Reset);
    {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        // The rest of the request body goes up while the answer comes down.
        let up = tokio::io::copy(&mut client_read, &mut server_write);
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

/// Reads up to the end of the request head; returns the head and what was read past it.
async fn read_head(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::other("request head too long"));
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header_lines(head: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(head).unwrap_or("").split("\r\n").skip(1)
}

fn content_length(head: &[u8]) -> Option<u64> {
    header_lines(head).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok()).flatten()
    })
}

/// The head with `Connection: close`, so that the emulator ends the connection after answering.
fn close_after(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text.trim_end_matches("\r\n\r\n").split("\r\n").collect();
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let mut out = lines.join("\r\n");
    out.push_str("\r\nConnection: close\r\n\r\n");
    out.into_bytes()
}
