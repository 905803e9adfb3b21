//! The replica manager: the partitions this node hosts.
//!
//! [`partition::Partition`] is one hosted partition (its log, role, leader
//! epoch, high watermark and the notification fetches wait on). This module
//! is not the metadata (which partitions exist and where they are placed is
//! the quorum's image, `crate::metadata`), nor the request handlers.

pub mod partition;
