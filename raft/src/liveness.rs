//! Broker liveness as the quorum decides it: how often brokers heartbeat
//! the voters, how often the leader checks, and which brokers a check
//! fences or unfences (pure functions of explicit inputs, so the rules are
//! tested without clocks). The tasks that send heartbeats and commit the
//! decisions live in [`crate::quorum`]; this module does no I/O.

use std::time::{Duration, Instant};

use crate::records::MetadataRecord;
use crate::types::NodeId;

/// The broker heartbeat interval in effect: `configured`, at most a
/// quarter of `session`, at least 10 ms.
pub fn broker_heartbeat_interval(configured: Duration, session: Duration) -> Duration {
    configured.min(session / 4).max(Duration::from_millis(10))
}

/// How often the leader looks for brokers that missed their session: a
/// tenth of it or one heartbeat interval, whichever is shorter (at least
/// 10 ms), so a dead broker is fenced at most that long after its session
/// ran out.
pub fn fence_check_interval(session: Duration, beat: Duration) -> Duration {
    (session / 10).min(beat).max(Duration::from_millis(10))
}

/// The liveness records the leader commits, decided from explicit inputs:
/// `brokers` = (node id, fenced) of every registered broker, `seen` = when
/// this node last received each one's heartbeat, `recording_since` = when
/// this node started recording heartbeats. Every voter records every
/// broker's heartbeats (brokers heartbeat all voters), so a newly elected
/// leader already knows who went silent before the election: a broker not
/// heard from for `session` is fenced once this node has recorded for at
/// least `session` (a node that just started gives everyone a full
/// session), a fenced broker heard from within `session` is unfenced.
/// `self_id` is never fenced.
pub fn liveness_changes(
    brokers: &[(i32, bool)],
    seen: &std::collections::HashMap<NodeId, Instant>,
    self_id: NodeId,
    recording_since: Instant,
    now: Instant,
    session: Duration,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for &(node_id, fenced) in brokers {
        let Ok(id) = NodeId::try_from(node_id) else {
            continue;
        };
        if id == self_id {
            continue;
        }
        let alive = seen
            .get(&id)
            .is_some_and(|t| now.saturating_duration_since(*t) < session);
        if fenced && alive {
            records.push(MetadataRecord::BrokerUnfenced { node_id });
        } else if !fenced && !alive && now.saturating_duration_since(recording_since) >= session {
            records.push(MetadataRecord::BrokerFenced { node_id });
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SESSION: Duration = Duration::from_millis(300);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_silent_broker_is_fenced_one_session_after_its_last_heartbeat() {
        let t0 = Instant::now();
        let seen: HashMap<NodeId, Instant> = [(2, t0 + ms(1000)), (3, t0 + ms(1200))].into();
        let brokers = [(1, false), (2, false), (3, false)];
        // 299 ms after node 2's last heartbeat: still alive.
        assert!(liveness_changes(&brokers, &seen, 1, t0, t0 + ms(1299), SESSION).is_empty());
        // 300 ms after it: fenced; node 3 (heard 100 ms later) is not.
        assert_eq!(
            liveness_changes(&brokers, &seen, 1, t0, t0 + ms(1300), SESSION),
            vec![MetadataRecord::BrokerFenced { node_id: 2 }]
        );
    }

    #[test]
    fn a_new_leader_fences_at_once_a_broker_silent_since_before_the_election() {
        // This node recorded heartbeats as a follower since t0; node 2 (the
        // old leader) died at t0 + 1 s; this node leads from t0 + 1.2 s.
        let t0 = Instant::now();
        let seen: HashMap<NodeId, Instant> = [(2, t0 + ms(1000)), (3, t0 + ms(1290))].into();
        let brokers = [(1, false), (2, false), (3, false)];
        // No fresh session for node 2 after the election: fenced at 1.3 s.
        assert_eq!(
            liveness_changes(&brokers, &seen, 1, t0, t0 + ms(1300), SESSION),
            vec![MetadataRecord::BrokerFenced { node_id: 2 }]
        );
    }

    #[test]
    fn a_node_that_just_started_gives_every_broker_a_full_session() {
        let t0 = Instant::now();
        let seen = HashMap::new();
        let brokers = [(1, false), (2, false)];
        assert!(liveness_changes(&brokers, &seen, 1, t0, t0 + ms(299), SESSION).is_empty());
        assert_eq!(
            liveness_changes(&brokers, &seen, 1, t0, t0 + ms(300), SESSION),
            vec![MetadataRecord::BrokerFenced { node_id: 2 }]
        );
    }

    #[test]
    fn a_fenced_broker_that_heartbeats_is_unfenced_and_self_is_never_fenced() {
        let t0 = Instant::now();
        let now = t0 + ms(5000);
        let seen: HashMap<NodeId, Instant> = [(2, now - ms(10))].into();
        let brokers = [(1, false), (2, true), (3, true), (-1, false)];
        assert_eq!(
            liveness_changes(&brokers, &seen, 1, t0, now, SESSION),
            vec![MetadataRecord::BrokerUnfenced { node_id: 2 }]
        );
    }

    #[test]
    fn heartbeat_and_check_intervals_fit_the_session() {
        // Kafka's defaults stay as configured.
        assert_eq!(broker_heartbeat_interval(ms(2000), ms(9000)), ms(2000));
        // A heartbeat as long as the session is cut to a quarter of it.
        assert_eq!(broker_heartbeat_interval(ms(2000), ms(3000)), ms(750));
        assert_eq!(broker_heartbeat_interval(ms(1), ms(300)), ms(10));
        assert_eq!(fence_check_interval(ms(9000), ms(2000)), ms(900));
        assert_eq!(fence_check_interval(ms(300), ms(50)), ms(30));
        assert_eq!(fence_check_interval(ms(100), ms(25)), ms(10));
    }
}
