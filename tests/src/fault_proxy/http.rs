//! The HTTP the proxy speaks: request heads and bodies read, answers written or rewritten.

use super::MAX_HEAD_BYTES;
use crate::s3_rules::{Answer, Request, S3Rules};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads up to the end of the request head; returns the head and what was read past it.
pub(super) async fn read_head(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
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

/// Copies at most `bytes_per_sec` bytes a second (`throttle_uploads`).
pub(super) async fn throttled_copy<R, W>(from: &mut R, to: &mut W, bytes_per_sec: u64) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let started = std::time::Instant::now();
    let mut sent = 0u64;
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n]).await?;
        sent += n as u64;
        let due = Duration::from_secs_f64(sent as f64 / bytes_per_sec as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Bytes of the request body still to come after `rest`.
pub(super) fn body_left(head: &[u8], rest: &[u8]) -> u64 {
    content_length(head).unwrap_or(0).saturating_sub(rest.len() as u64)
}

/// Reads the rest of the request body into `rest`.
pub(super) async fn read_body(client: &mut TcpStream, head: &[u8], rest: &mut Vec<u8>) -> std::io::Result<()> {
    let left = body_left(head, rest);
    client.take(left).read_to_end(rest).await.map(|_| ())
}

/// Reads and drops what the client sends of a body, so that it sees the answer, not a broken pipe.
pub(super) async fn drain_body(client: &mut TcpStream, head: &[u8], rest: &[u8]) -> std::io::Result<()> {
    tokio::io::copy(&mut client.take(body_left(head, rest)), &mut tokio::io::sink()).await.map(|_| ())
}

/// An answer of the rules as HTTP, with an S3 XML error body (none for HEAD).
pub(super) fn answer_bytes(a: &Answer, req: &Request) -> Vec<u8> {
    let body = match a.code {
        Some(code) if req.method != "HEAD" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} (s3 rule of the test proxy)</Message></Error>"
        ),
        _ => String::new(),
    };
    let mut out = format!("HTTP/1.1 {}\r\n", a.status);
    for (n, v) in &a.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() {
        out.push_str("Content-Type: application/xml\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// The emulator's whole answer, rewritten by the rules and sent with a Content-Length.
pub(super) fn rewrite(answer: &[u8], req: &Request, rules: &S3Rules) -> Vec<u8> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return answer.to_vec() };
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("HTTP/1.1 500 Internal Server Error").to_owned();
    let mut headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw = &answer[end + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let mut body = if chunked { dechunk(raw) } else { raw.to_vec() };
    // A HEAD answer declares the length of a body it does not send: keep it.
    let declared = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.clone());
    rules.rewrite_answer(req, &mut headers, &mut body);
    headers.retain(|(n, _)| n != "content-length" && n != "transfer-encoding" && n != "connection");
    let length = if req.method == "HEAD" { declared.unwrap_or_else(|| "0".into()) } else { body.len().to_string() };
    let mut out = format!("{status}\r\n");
    for (n, v) in &headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {length}\r\nconnection: close\r\n\r\n"));
    let mut out = out.into_bytes();
    if req.method != "HEAD" {
        out.extend_from_slice(&body);
    }
    out
}

/// The data of a `Transfer-Encoding: chunked` body.
pub(super) fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

pub(super) fn header_lines(head: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(head).unwrap_or("").split("\r\n").skip(1)
}

pub(super) fn content_length(head: &[u8]) -> Option<u64> {
    header_lines(head).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok()).flatten()
    })
}

/// The head with `Connection: close`, so that the emulator ends the connection after answering.
pub(super) fn close_after(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text.trim_end_matches("\r\n\r\n").split("\r\n").collect();
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let mut out = lines.join("\r\n");
    out.push_str("\r\nConnection: close\r\n\r\n");
    out.into_bytes()
}
