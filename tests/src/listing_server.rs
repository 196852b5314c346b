//! A synthetic S3 listing: ListObjectsV2 and HeadBucket over a generated key space of any
//! size, with a fixed wait per page (the distance to S3). No emulator can hold a bucket of ten
//! million keys or answer its pages fast enough to measure the jobsender rather than itself;
//! this answers a page in microseconds from arithmetic.
//!
//! A bucket's name says what it holds: `SHAPE-N[-missM]-ANYTHING`, `N` keys of shape `logs`
//! (date-partitioned log files: `logs/2025/03/14/host-007/app-000123.log.gz`) or `flat`
//! (hashed flat names: `img/3f2a…9c.jpg`), without every `M`th key when `-missM` is given (a
//! destination missing 1% of the keys is `-miss100`). Key `i` of a space is the same object on
//! every bucket (size, ETag), so two buckets of one shape and size compare equal.
//! `GET /__stats` answers `{"pages":P,"keys":K}`: the pages and keys listed so far.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Keys per page at most (S3's ListObjectsV2 maximum).
const MAX_KEYS: usize = 1000;
/// Days and hosts of the `logs` shape.
const LOG_DAYS: u64 = 365;
const LOG_HOSTS: u64 = 50;

/// The shape of a key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Logs,
    Flat,
}

/// A generated bucket: `n` keys of `shape`, every `missing_every`th absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpace {
    pub shape: Shape,
    pub n: u64,
    pub missing_every: Option<u64>,
}

/// SplitMix64: a fixed pseudo-random value per key index.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Civil date of `days` after 2025-01-01 (H. Hinnant's algorithm).
fn date(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 20_089 + 719_468; // 2025-01-01 is day 20,089 of the Unix epoch
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

impl KeySpace {
    /// Reads a bucket name (`SHAPE-N[-missM]-...`); `None` when it names no key space.
    pub fn from_bucket(bucket: &str) -> Option<Self> {
        let mut parts = bucket.split('-');
        let shape = match parts.next()? {
            "logs" => Shape::Logs,
            "flat" => Shape::Flat,
            _ => return None,
        };
        let n = parts.next()?.parse().ok()?;
        let missing_every = parts.next().and_then(|p| p.strip_prefix("miss")).and_then(|m| m.parse().ok());
        Some(Self { shape, n, missing_every })
    }

    /// Key `i`; keys increase with `i`.
    pub fn key(&self, i: u64) -> String {
        match self.shape {
            Shape::Logs => {
                let per = self.n.div_ceil(LOG_DAYS * LOG_HOSTS).max(1);
                let (day, host, seq) = (i / (LOG_HOSTS * per), (i / per) % LOG_HOSTS, i % per);
                let (y, m, d) = date(day);
                format!("logs/{y:04}/{m:02}/{d:02}/host-{host:03}/app-{seq:06}.log.gz")
            }
            Shape::Flat => {
                let step = u64::MAX / self.n.max(1);
                format!("img/{:016x}{:08x}.jpg", i * step, mix(i) as u32)
            }
        }
    }

    fn present(&self, i: u64) -> bool {
        self.missing_every.is_none_or(|m| i % m != 0)
    }

    /// Size and ETag of key `i`.
    pub fn object(&self, i: u64) -> (u64, String) {
        let h = mix(i);
        let size = match self.shape {
            Shape::Logs => 1_000 + h % 100_000,
            Shape::Flat => 10_000 + h % 90_000,
        };
        (size, format!("\"{:016x}{:016x}\"", h, mix(h)))
    }

    /// Index of the first key greater than `after` (or of the first key when `None`).
    fn first_after(&self, after: Option<&str>) -> u64 {
        after.map_or(0, |a| self.partition(|k| k <= a))
    }

    /// Index of the first key not below `prefix`.
    fn first_not_below(&self, prefix: &str) -> u64 {
        self.partition(|k| k < prefix)
    }

    /// The first index whose key is not `before` (keys increase with their index).
    fn partition(&self, before: impl Fn(&str) -> bool) -> u64 {
        let (mut lo, mut hi) = (0, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(&self.key(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// One ListObjectsV2 page: keys under `prefix` after `after`, at most `max_keys`; the keys
    /// and whether more follow.
    pub fn page(&self, prefix: &str, after: Option<&str>, max_keys: usize) -> (Vec<(String, u64, String)>, bool) {
        let mut i = match after {
            Some(a) if a >= prefix => self.first_after(Some(a)),
            _ => self.first_not_below(prefix),
        };
        let mut out = Vec::new();
        while i < self.n && out.len() < max_keys {
            let key = self.key(i);
            if !key.starts_with(prefix) {
                return (out, false);
            }
            if self.present(i) {
                let (size, etag) = self.object(i);
                out.push((key, size, etag));
            }
            i += 1;
        }
        // More follow if any present key under the prefix is left.
        let more = (i..self.n).find(|&j| self.present(j)).is_some_and(|j| self.key(j).starts_with(prefix));
        (out, more)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Pages and keys listed so far.
#[derive(Debug, Default)]
pub struct ListingStats {
    pub pages: AtomicU64,
    pub keys: AtomicU64,
}

/// A running listing server; dropping it stops it.
pub struct ListingServer {
    pub url: String,
    pub stats: Arc<ListingStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ListingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ListingServer {
    /// Serves on a free local port; each ListObjectsV2 page waits `per_page` first.
    pub async fn start(per_page: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stats = Arc::new(ListingStats::default());
        let shared = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let stats = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, per_page, &stats).await;
                });
            }
        });
        Ok(Self { url, stats, task })
    }
}

/// Answers the requests of one connection (HTTP/1.1 keep-alive) until it closes.
async fn serve(mut conn: TcpStream, per_page: Duration, stats: &ListingStats) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let line = head.lines().next().unwrap_or("");
        let mut words = line.split(' ');
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
        let (status, body) = answer(method, target, per_page, stats).await;
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\nx-amz-bucket-region: us-east-1\r\ncontent-length: {}\r\n\r\n",
            if method == "HEAD" { 0 } else { body.len() }
        );
        conn.write_all(reply.as_bytes()).await?;
        if method != "HEAD" {
            conn.write_all(body.as_bytes()).await?;
        }
    }
}

async fn answer(method: &str, target: &str, per_page: Duration, stats: &ListingStats) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/__stats" {
        let (p, k) = (stats.pages.load(Ordering::Relaxed), stats.keys.load(Ordering::Relaxed));
        return ("200 OK", format!(r#"{{"pages":{p},"keys":{k}}}"#));
    }
    let bucket = decode(path.trim_start_matches('/').split('/').next().unwrap_or(""));
    let Some(space) = KeySpace::from_bucket(&bucket) else {
        return ("404 Not Found", format!("<Error><Code>NoSuchBucket</Code><BucketName>{bucket}</BucketName></Error>"));
    };
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if method == "HEAD" || param("list-type") != Some("2") {
        return ("200 OK", String::new());
    }
    tokio::time::sleep(per_page).await;
    let prefix = param("prefix").unwrap_or("");
    let after = param("continuation-token").or(param("start-after"));
    let max_keys = param("max-keys").and_then(|m| m.parse().ok()).unwrap_or(MAX_KEYS).min(MAX_KEYS);
    let (keys, more) = space.page(prefix, after, max_keys);
    stats.pages.fetch_add(1, Ordering::Relaxed);
    stats.keys.fetch_add(keys.len() as u64, Ordering::Relaxed);
    let mut xml = String::with_capacity(keys.len() * 220 + 512);
    xml.push_str(
        r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
    );
    let _ = write!(xml, "<Name>{}</Name><Prefix>{}</Prefix>", xml_escape(&bucket), xml_escape(prefix));
    let _ = write!(
        xml,
        "<KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys><IsTruncated>{more}</IsTruncated>",
        keys.len()
    );
    if let (true, Some((last, _, _))) = (more, keys.last()) {
        let _ = write!(xml, "<NextContinuationToken>{}</NextContinuationToken>", xml_escape(last));
    }
    for (key, size, etag) in &keys {
        let _ = write!(
            xml,
            "<Contents><Key>{}</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>{}</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            xml_escape(key),
            xml_escape(etag)
        );
    }
    xml.push_str("</ListBucketResult>");
    ("200 OK", xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_increase_with_their_index_in_both_shapes() {
        for shape in [Shape::Logs, Shape::Flat] {
            let space = KeySpace { shape, n: 10_000_000, missing_every: None };
            let mut last = String::new();
            for i in (0..space.n).step_by(9_973).chain(space.n - 3..space.n) {
                let k = space.key(i);
                assert!(k > last, "{shape:?} {i}: {k} after {last}");
                last = k;
            }
        }
        assert_eq!(
            KeySpace { shape: Shape::Logs, n: 10_000_000, missing_every: None }.key(0),
            "logs/2025/01/01/host-000/app-000000.log.gz"
        );
        assert_eq!(date(365), (2026, 1, 1));
        assert_eq!(date(59), (2025, 3, 1));
    }

    #[test]
    fn pages_walk_the_whole_space_once_and_skip_missing_keys() {
        let space = KeySpace::from_bucket("flat-2500-miss100-des").unwrap();
        assert_eq!(space, KeySpace { shape: Shape::Flat, n: 2500, missing_every: Some(100) });
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        loop {
            let (keys, more) = space.page("", after.as_deref(), 1000);
            seen.extend(keys.iter().map(|(k, _, _)| k.clone()));
            after = keys.last().map(|(k, _, _)| k.clone());
            if !more {
                break;
            }
        }
        assert_eq!(seen.len(), 2500 - 25);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert!(!seen.contains(&space.key(100)) && seen.contains(&space.key(101)));
    }

    #[test]
    fn a_prefix_and_start_after_bound_a_page() {
        let space = KeySpace::from_bucket("logs-100000-src").unwrap();
        let prefix = "logs/2025/02/";
        let (keys, _) = space.page(prefix, None, 5);
        assert!(keys.iter().all(|(k, _, _)| k.starts_with(prefix)) && keys.len() == 5);
        let (next, _) = space.page(prefix, Some(&keys[4].0), 1);
        assert!(next[0].0 > keys[4].0);
        let last_key = space.key(space.n - 1);
        let last_dir = &last_key[..last_key.rfind('/').unwrap() + 1];
        let (last, more) = space.page(last_dir, None, 1000);
        assert!(!more && !last.is_empty() && last.last().unwrap().0 == last_key);
        assert_eq!(space.page("logs/2099/", None, 10), (vec![], false), "an empty prefix");
    }
}
