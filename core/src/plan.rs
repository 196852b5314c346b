//! The multipart part planner.
//!
//! S3 rules (Amazon S3 User Guide, "Amazon S3 multipart upload limits"):
//! every part but the last is 5 MiB to 5 GiB, and an upload has at most 10,000 parts.
//! The planner starts from the configured part size (`ChunkSize`, default 5 MiB) and, when
//! 10,000 parts of that size would not hold the object, grows it to the smallest whole number
//! of MiB that does (about size / 10,000, so above ~50 GB).

use crate::units::{GIB, MIB};

/// Smallest part S3 accepts, except the last part of an upload.
pub const MIN_PART_SIZE_BYTES: u64 = 5 * MIB;
/// Largest part S3 accepts.
pub const MAX_PART_SIZE_BYTES: u64 = 5 * GIB;
/// Most parts one multipart upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// Largest object the planner can tile: 10,000 parts of 5 GiB.
pub const MAX_OBJECT_SIZE_BYTES: u64 = MAX_PARTS * MAX_PART_SIZE_BYTES;
/// Default part size (`ChunkSize`).
pub const DEFAULT_PART_SIZE_BYTES: u64 = 5 * MIB;

/// Why an object cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("object of {size} bytes is larger than S3 multipart allows ({MAX_OBJECT_SIZE_BYTES} bytes: 10,000 parts of 5 GiB)")]
    TooLarge { size: u64 },
    #[error("part size {part_size} bytes is outside S3's 5 MiB..5 GiB")]
    BadPartSize { part_size: u64 },
}

/// One part of a multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// S3 part number, 1-based.
    pub number: u32,
    /// First byte of the part in the object.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Part {
    /// Last byte of the part (inclusive), for an HTTP `Range: bytes=offset-last` header.
    pub fn last_byte(&self) -> u64 {
        self.offset + self.len.saturating_sub(1)
    }
}

/// How an object of `size` bytes is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub size: u64,
    pub part_size: u64,
    pub count: u32,
}

impl PartPlan {
    /// Plans `size` bytes with the configured part size (5 MiB..5 GiB).
    pub fn new(size: u64, chunk_size: u64) -> Result<Self, PlanError> {
        if !(MIN_PART_SIZE_BYTES..=MAX_PART_SIZE_BYTES).contains(&chunk_size) {
            return Err(PlanError::BadPartSize { part_size: chunk_size });
        }
        if size > MAX_OBJECT_SIZE_BYTES {
            return Err(PlanError::TooLarge { size });
        }
        let mut part_size = chunk_size;
        if size.div_ceil(part_size) > MAX_PARTS {
            // Smallest whole number of MiB that fits the object in 10,000 parts.
            part_size = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        }
        // MAX_OBJECT_SIZE_BYTES is a whole number of MiB times 10,000, so this cannot exceed 5 GiB.
        debug_assert!(part_size <= MAX_PART_SIZE_BYTES);
        let count = size.div_ceil(part_size) as u32;
        Ok(Self { size, part_size, count })
    }

    /// Part `number` (1-based), or `None` outside `1..=count`.
    pub fn part(&self, number: u32) -> Option<Part> {
        if number == 0 || number > self.count {
            return None;
        }
        let offset = u64::from(number - 1) * self.part_size;
        let len = self.part_size.min(self.size - offset);
        Some(Part { number, offset, len })
    }

    /// All parts in order.
    pub fn parts(&self) -> impl Iterator<Item = Part> + '_ {
        (1..=self.count).filter_map(|n| self.part(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_tiling(plan: &PartPlan) {
        let mut next = 0;
        let mut n = 0;
        for part in plan.parts() {
            n += 1;
            assert_eq!(part.number, n);
            assert_eq!(part.offset, next, "parts are contiguous");
            assert!(part.len > 0);
            assert!(part.len <= MAX_PART_SIZE_BYTES);
            if part.number < plan.count {
                assert!(part.len >= MIN_PART_SIZE_BYTES, "only the last part may be small");
                assert_eq!(part.len, plan.part_size);
            }
            next += part.len;
        }
        assert_eq!(next, plan.size, "parts tile 0..size");
        assert_eq!(n, plan.count);
        assert!(u64::from(plan.count) <= MAX_PARTS);
        assert_eq!(plan.part_size % MIB, 0, "part size is a whole number of MiB");
    }

    #[test]
    fn named_sizes() {
        // (size, expected part size, expected count)
        let cases = [
            (0, 5 * MIB, 0),
            (1, 5 * MIB, 1),
            (5 * MIB - 1, 5 * MIB, 1),
            (5 * MIB, 5 * MIB, 1),
            (5 * MIB + 1, 5 * MIB, 2),
            (50_000_000_000, 5 * MIB, 9537),
            (52_428_800_000, 5 * MIB, 10_000),
            (52_428_800_001, 6 * MIB, 8334),
            (1_000_000_000_000, 96 * MIB, 9935),
            (MAX_OBJECT_SIZE_BYTES, 5 * GIB, 10_000),
        ];
        for (size, part_size, count) in cases {
            let plan = PartPlan::new(size, DEFAULT_PART_SIZE_BYTES).unwrap();
            assert_eq!((plan.part_size, plan.count), (part_size, count), "size {size}");
            check_tiling(&plan);
        }
    }

    #[test]
    fn too_large_is_an_error() {
        let err = PartPlan::new(MAX_OBJECT_SIZE_BYTES + 1, DEFAULT_PART_SIZE_BYTES).unwrap_err();
        assert_eq!(err, PlanError::TooLarge { size: MAX_OBJECT_SIZE_BYTES + 1 });
        assert!(err.to_string().contains("10,000 parts of 5 GiB"));
    }

    #[test]
    fn chunk_size_outside_s3_limits_is_an_error() {
        assert!(PartPlan::new(10, 5 * MIB - 1).is_err());
        assert!(PartPlan::new(10, 5 * GIB + 1).is_err());
        assert!(PartPlan::new(10, 5 * GIB).is_ok());
    }

    #[test]
    fn larger_chunk_size_is_kept_when_it_fits() {
        let plan = PartPlan::new(100 * MIB, 16 * MIB).unwrap();
        assert_eq!((plan.part_size, plan.count), (16 * MIB, 7));
        assert_eq!(plan.part(7).unwrap().len, 4 * MIB);
        check_tiling(&plan);
    }

    #[test]
    fn part_lookup_outside_range_is_none() {
        let plan = PartPlan::new(11 * MIB, DEFAULT_PART_SIZE_BYTES).unwrap();
        assert!(plan.part(0).is_none());
        assert!(plan.part(4).is_none());
        let last = plan.part(3).unwrap();
        assert_eq!((last.offset, last.len, last.last_byte()), (10 * MIB, MIB, 11 * MIB - 1));
    }

    proptest! {
        #[test]
        fn any_size_tiles(size in 0u64..=MAX_OBJECT_SIZE_BYTES, chunk_mib in 5u64..=64) {
            let plan = PartPlan::new(size, chunk_mib * MIB).unwrap();
            prop_assert!(plan.part_size >= chunk_mib * MIB);
            // The part size is the smallest whole MiB that fits: one MiB less would not.
            if plan.part_size > chunk_mib * MIB {
                prop_assert!(size.div_ceil(plan.part_size - MIB) > MAX_PARTS);
            }
            // Check the tiling arithmetic without walking millions of parts every case.
            let last = plan.part(plan.count);
            if size == 0 {
                prop_assert_eq!(plan.count, 0);
            } else {
                let last = last.unwrap();
                prop_assert_eq!(last.offset + last.len, size);
                prop_assert!(last.len > 0 && last.len <= plan.part_size);
                prop_assert!(u64::from(plan.count) <= MAX_PARTS);
            }
        }

        #[test]
        fn small_sizes_tile_exactly(size in 0u64..=200 * MIB) {
            check_tiling(&PartPlan::new(size, DEFAULT_PART_SIZE_BYTES).unwrap());
        }
    }
}
