//! The current-leader-epoch check shared by the requests that carry one
//! (Fetch, ListOffsets, OffsetForLeaderEpoch; KIP-320): a client names the
//! leader epoch it last saw so that a stale leader or a stale client is
//! detected. Kafka's `Partition.checkCurrentLeaderEpoch`.
//!
//! This is not where a partition's epoch moves (`crate::replica`), only
//! the comparison of a requested epoch with the one this replica has.

use crate::error::BrokerError;

/// "No epoch given": the request skips the check.
pub const NO_EPOCH: i32 = -1;

/// Checks `requested` (the request's `current_leader_epoch`) against the
/// partition's `current` leader epoch: -1 skips the check, an older epoch
/// is FENCED_LEADER_EPOCH (the client has stale metadata), a newer one
/// UNKNOWN_LEADER_EPOCH (this replica has not applied the change yet; the
/// client retries).
pub fn check_current_leader_epoch(current: i32, requested: i32) -> Result<(), BrokerError> {
    if requested == NO_EPOCH || requested == current {
        Ok(())
    } else if requested < current {
        Err(BrokerError::FencedLeaderEpoch { current, requested })
    } else {
        Err(BrokerError::UnknownLeaderEpoch { current, requested })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_is_fenced_newer_is_unknown_minus_one_skips() {
        assert!(check_current_leader_epoch(5, 5).is_ok());
        assert!(check_current_leader_epoch(5, NO_EPOCH).is_ok());
        assert!(matches!(
            check_current_leader_epoch(5, 4),
            Err(BrokerError::FencedLeaderEpoch {
                current: 5,
                requested: 4
            })
        ));
        assert!(matches!(
            check_current_leader_epoch(5, 6),
            Err(BrokerError::UnknownLeaderEpoch {
                current: 5,
                requested: 6
            })
        ));
        // Older negative epochs other than -1 are fenced, as in Kafka.
        assert!(check_current_leader_epoch(0, -2).is_err());
    }
}
