//! A part piped from its ranged GET straight into its UploadPart, so no part is ever held
//! whole in memory: the bytes in flight are the few socket reads between the two connections.
//!
//! The pipe counts what passes. A source that ends early, runs long or breaks fails the upload
//! before S3 can take a part of the wrong length, and the reason is kept so the caller can name
//! the source instead of the upload's transport error. Integrity on the way in is the SDK's
//! trailing checksum (CRC32 by default), which S3 checks before it answers.

use crate::error::CopyError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use s3_migrate_core::retry::ErrorClass;
use s3_migrate_core::Job;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

/// Why the source side of a pipe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipeFailure {
    #[error("reading the source broke off after {seen} of {expected} bytes: {reason}")]
    Read { seen: u64, expected: u64, reason: String },
    #[error("the source gave {got} bytes, expected {expected}")]
    Length { got: String, expected: u64 },
}

impl PipeFailure {
    /// The copy's error for this failure of reading `job`'s source, `what` naming the read
    /// ("part 3", "the object"): a broken read may succeed again; a wrong length is an
    /// integrity failure.
    pub fn into_copy_error(self, job: &Job, what: &str) -> CopyError {
        let (bucket, key) = (job.src_bucket.clone(), job.src_key.clone());
        match self {
            PipeFailure::Read { reason, .. } => CopyError::S3 {
                op: "GetObject",
                bucket,
                key,
                message: format!("reading {what}: {reason}"),
                class: ErrorClass::Retryable,
            },
            wrong @ PipeFailure::Length { .. } => {
                CopyError::Integrity { bucket, key, detail: format!("reading {what}: {wrong}") }
            }
        }
    }
}

/// Where a pipe leaves its failure for the caller to read after the upload fails.
pub type FailureSlot = Arc<OnceLock<PipeFailure>>;

struct Pipe {
    source: SdkBody,
    expected: u64,
    seen: u64,
    failure: FailureSlot,
}

/// Wraps a GET body of `expected` bytes as an upload body; the slot holds the source failure,
/// if any.
pub fn pipe(source: ByteStream, expected: u64) -> (ByteStream, FailureSlot) {
    let failure = FailureSlot::default();
    let pipe = Pipe { source: source.into_inner(), expected, seen: 0, failure: failure.clone() };
    (ByteStream::new(SdkBody::from_body_1_x(pipe)), failure)
}

impl Pipe {
    fn fail(&mut self, failure: PipeFailure) -> Poll<Option<Result<Frame<Bytes>, PipeFailure>>> {
        let _ = self.failure.set(failure.clone());
        Poll::Ready(Some(Err(failure)))
    }
}

impl Body for Pipe {
    type Data = Bytes;
    type Error = PipeFailure;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, PipeFailure>>> {
        let this = self.get_mut();
        loop {
            match ready!(Pin::new(&mut this.source).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // The source's trailers (if any) are not the upload's: pass data only.
                    let Ok(data) = frame.into_data() else { continue };
                    this.seen += data.len() as u64;
                    if this.seen > this.expected {
                        let got = format!("{} or more", this.seen);
                        return this.fail(PipeFailure::Length { got, expected: this.expected });
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => {
                    let (seen, expected) = (this.seen, this.expected);
                    let reason = s3_migrate_core::clients::error_chain(e.as_ref());
                    return this.fail(PipeFailure::Read { seen, expected, reason });
                }
                None if this.seen != this.expected => {
                    return this.fail(PipeFailure::Length { got: this.seen.to_string(), expected: this.expected });
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.expected.saturating_sub(self.seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    /// A source body made of these chunks, optionally breaking after them.
    fn source(chunks: &[&'static [u8]], break_after: bool) -> ByteStream {
        let mut frames: Vec<Result<Frame<Bytes>, std::io::Error>> =
            chunks.iter().map(|c| Ok(Frame::data(Bytes::from_static(c)))).collect();
        if break_after {
            frames.push(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")));
        }
        ByteStream::new(SdkBody::from_body_1_x(StreamBody::new(futures::stream::iter(frames))))
    }

    async fn drain(body: ByteStream) -> Result<Vec<u8>, String> {
        let mut inner = body.into_inner();
        let mut out = Vec::new();
        while let Some(frame) = inner.frame().await {
            match frame {
                Ok(f) => out.extend_from_slice(&f.into_data().unwrap_or_default()),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(out)
    }

    #[tokio::test]
    async fn passes_every_byte_of_a_source_of_the_right_length() {
        let (body, failure) = pipe(source(&[b"hello ", b"world"], false), 11);
        assert_eq!(body.size_hint(), (11, Some(11)));
        assert_eq!(drain(body).await.unwrap(), b"hello world");
        assert_eq!(failure.get(), None);
    }

    #[tokio::test]
    async fn a_short_source_fails_and_says_how_short() {
        let (body, failure) = pipe(source(&[b"hello"], false), 11);
        let e = drain(body).await.unwrap_err();
        assert!(e.contains("gave 5 bytes, expected 11"), "{e}");
        assert_eq!(failure.get(), Some(&PipeFailure::Length { got: "5".into(), expected: 11 }));
    }

    #[tokio::test]
    async fn a_long_source_fails_before_the_extra_bytes_pass() {
        let (body, failure) = pipe(source(&[b"hello", b" world"], false), 8);
        let mut inner = body.into_inner();
        let first = inner.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, Bytes::from_static(b"hello"));
        assert!(inner.frame().await.unwrap().is_err(), "the chunk crossing the length is not passed on");
        assert!(matches!(failure.get(), Some(PipeFailure::Length { expected: 8, .. })));
    }

    #[tokio::test]
    async fn a_broken_source_is_reported_with_its_reason() {
        let (body, failure) = pipe(source(&[b"abc"], true), 10);
        assert!(drain(body).await.is_err());
        match failure.get() {
            Some(PipeFailure::Read { seen: 3, expected: 10, reason }) => {
                assert!(reason.contains("connection reset"), "{reason}")
            }
            other => panic!("expected a read failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_empty_stream_of_frames_is_read_to_the_end() {
        let (body, _) = pipe(source(&[], false), 0);
        assert_eq!(drain(body).await.unwrap(), b"");
    }
}
