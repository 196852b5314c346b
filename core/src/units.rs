//! Byte units used for S3 limits and settings.

/// One kibibyte (1,024 bytes).
pub const KIB: u64 = 1024;
/// One mebibyte (1,048,576 bytes).
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub const GIB: u64 = 1024 * MIB;
/// One tebibyte.
pub const TIB: u64 = 1024 * GIB;
