//! What every written object carries: the headers a copy keeps from its source, and the
//! destination settings. Macros, as the SDK's request builders share these setters but no trait.

/// Applies what a copy keeps (Content-Type, -Encoding, -Disposition, -Language, Cache-Control,
/// Expires, user metadata, tags) plus [`with_destination_options`] to a PutObject or
/// CreateMultipartUpload request: the SDK builders share these setters but no trait.
macro_rules! with_destination_headers {
    ($req:expr, $pinned:expr, $cfg:expr) => {{
        let m = &$pinned.head.meta;
        with_destination_options!($req, m, $cfg)
            .set_content_type(m.content_type.clone())
            .set_content_encoding(m.content_encoding.clone())
            .set_content_disposition(m.content_disposition.clone())
            .set_content_language(m.content_language.clone())
            .set_cache_control(m.cache_control.clone())
            .set_expires(m.expires)
            .set_metadata(Some(m.metadata.clone()))
            .set_tagging($pinned.tagging.clone())
    }};
}

/// What every written object gets in both modes (PutObject, CreateMultipartUpload, CopyObject):
/// the destination settings (encryption, ACL), and the website redirect and Object Lock
/// (`CopyObjectLock`) that S3 never copies by itself.
macro_rules! with_destination_options {
    ($req:expr, $meta:expr, $cfg:expr) => {{
        let d = &$cfg.destination;
        let lock = $meta.object_lock.as_ref().filter(|_| d.copy_object_lock);
        $req.set_server_side_encryption(d.sse.as_deref().map(aws_sdk_s3::types::ServerSideEncryption::from))
            .set_ssekms_key_id(d.kms_key_id.clone())
            .set_bucket_key_enabled(d.bucket_key)
            .set_acl(d.acl.as_deref().map(aws_sdk_s3::types::ObjectCannedAcl::from))
            .set_website_redirect_location($meta.website_redirect_location.clone())
            .set_object_lock_mode(lock.and_then(|l| l.mode.clone()))
            .set_object_lock_retain_until_date(lock.and_then(|l| l.retain_until))
            .set_object_lock_legal_hold_status(lock.and_then(|l| l.legal_hold.clone()))
    }};
}
