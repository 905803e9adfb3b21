//! Process limits that bound how many partitions this node can serve.
//!
//! Each hosted partition keeps three files open (`.log`, `.index`,
//! `.timeindex` of its active segment) and two memory maps. A metadata
//! change that places more partitions on a node than its open-file limit
//! (or `vm.max_map_count`) allows would be committed and then fail to open
//! at every start ("Too many open files"): a broker that can never restart.
//! So CreateTopics and CreatePartitions check the placement before
//! committing: the partitions added on this node against
//! [`free_partition_slots`] (what is really still free, every open segment
//! counted), every broker's total against [`partition_capacity`], and refuse a single request for
//! more than [`MAX_PARTITIONS_PER_REQUEST`] partitions as Kafka's controller
//! does. At start-up the soft open-file limit is raised to the hard limit.
//!
//! Not here: lazy opening of idle partitions (a later step, see TODO.md),
//! which would lift the per-partition descriptor cost.

use tracing::{info, warn};

/// Open files a hosted partition needs (active segment's log and indexes).
pub const FDS_PER_PARTITION: u64 = 3;
/// Memory maps a hosted partition needs (offset and time index).
pub const MAPS_PER_PARTITION: u64 = 2;
/// Largest number of partitions one CreateTopics topic or CreatePartitions
/// request may add (Kafka's controller refuses larger batches with
/// POLICY_VIOLATION).
pub const MAX_PARTITIONS_PER_REQUEST: i32 = 10_000;

/// Raises the soft open-file limit to the hard limit (as a service manager
/// would) and logs the limit in force.
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(max)) = (limit.current, limit.maximum) {
        if current < max {
            let mut raised = limit;
            raised.current = Some(max);
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                warn!(current, max, error = %e, "could not raise the open-file limit");
            }
        }
    }
    let now = getrlimit(Resource::Nofile).current;
    info!(
        open_files = now.map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
        partitions = partition_capacity(),
        "process limits"
    );
}

/// Open files kept free for connections, segment rolls, the metadata log
/// and the cleaner: a quarter of the limit, at least 256.
fn fd_reserve(limit: u64) -> u64 {
    (limit / 4).max(256)
}

fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Partitions this process can host with its open-file limit and
/// `vm.max_map_count`, after a reserve for everything else.
pub fn partition_capacity() -> u64 {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    slots(nofile, 0, FDS_PER_PARTITION).min(slots(max_map_count(), 0, MAPS_PER_PARTITION))
}

/// Files this process has open (Linux `/proc`; 0 where unavailable).
fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// Memory maps this process holds (Linux `/proc`; 0 where unavailable).
fn memory_maps() -> u64 {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |s| s.lines().count() as u64)
}

/// Partitions that fit in `limit` (None: unlimited) after the reserve and
/// `in_use`, at `per` each.
fn slots(limit: Option<u64>, in_use: u64, per: u64) -> u64 {
    limit.map_or(u64::MAX, |n| {
        n.saturating_sub(fd_reserve(n)).saturating_sub(in_use) / per
    })
}

/// How many more partitions this process can open now: what its open-file
/// limit and `vm.max_map_count` leave after the reserve and after every
/// file and map already in use (sealed segments included, which
/// [`partition_capacity`] cannot see).
pub fn free_partition_slots() -> u64 {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    slots(nofile, open_files(), FDS_PER_PARTITION).min(slots(
        max_map_count(),
        memory_maps(),
        MAPS_PER_PARTITION,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_leaves_a_reserve() {
        assert_eq!(fd_reserve(1024), 256);
        assert_eq!(fd_reserve(20_000), 5_000);
        let cap = partition_capacity();
        assert!(cap > 0 && cap < u64::MAX, "{cap}");
        // What is already open counts against the limit (stdin, stdout and
        // stderr at least).
        assert!(free_partition_slots() < cap);
        assert_eq!(slots(Some(1024), 0, FDS_PER_PARTITION), 256);
        assert_eq!(slots(Some(1024), 300, FDS_PER_PARTITION), 156);
        assert_eq!(slots(Some(1024), 900, FDS_PER_PARTITION), 0);
        assert_eq!(slots(None, 900, FDS_PER_PARTITION), u64::MAX);
    }
}
