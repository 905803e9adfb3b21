//! The classic group protocol as a state machine, one [`Group`] per group id.
//!
//! ```text
//!   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//!     ▲                 ▲      ▲                                     │ leader's SyncGroup
//!     │ last member     │      └──── join (leader / new metadata),   ▼
//!     └── leaves ───────┴────────── leave, session expiry ◀──── Stable
//! ```
//!
//! Every method takes the current time and returns what to answer; answers
//! that must wait (JoinGroup until the rebalance completes, SyncGroup until
//! the leader's assignment arrives) are one-shot receivers the handler
//! awaits. No I/O, no clocks, no locks here: the coordinator serialises
//! calls and persists the group when [`Group::take_dirty`] says so. Tested
//! with explicit instants.
//!
//! Not here: offsets (the coordinator keeps them) and the KIP-848 protocol.

use std::time::{Duration, Instant};

use crate::error::GroupError;
use bytes::Bytes;
use tokio::sync::oneshot;

use super::protocol::{
    GroupConfig, GroupState, JoinMember, JoinRequest, JoinResult, Reply, SyncResult,
};
use super::records::{GroupValue, StoredMember};
use crate::now_ms;

/// One member of a group.
#[derive(Debug)]
pub struct Member {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout: Duration,
    /// Rebalance timeout.
    pub rebalance_timeout: Duration,
    /// Supported protocols with metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Current assignment.
    pub assignment: Bytes,
    last_heartbeat: Instant,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

impl Member {
    /// Answers this member's pending join and sync with `e`.
    fn fail_waits(&mut self, e: &GroupError) {
        if let Some(w) = self.join_waiter.take() {
            let _ = w.send(JoinResult::error(e.clone(), &self.member_id));
        }
        if let Some(w) = self.sync_waiter.take() {
            let _ = w.send(SyncResult::error(e.clone()));
        }
    }

    /// Metadata for `protocol`.
    pub fn metadata(&self, protocol: Option<&str>) -> Bytes {
        protocol
            .and_then(|p| self.protocols.iter().find(|(n, _)| n == p))
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// One consumer group.
#[derive(Debug)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Current state.
    pub state: GroupState,
    /// Generation (incremented by every completed join phase).
    pub generation: i32,
    /// Protocol type of the members.
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol: Option<String>,
    /// Leader member id.
    pub leader: Option<String>,
    members: Vec<Member>,
    pending: Vec<(String, Instant)>,
    rebalance_deadline: Option<Instant>,
    join_not_before: Option<Instant>,
    sync_deadline: Option<Instant>,
    /// Wall-clock ms when the state was entered.
    pub state_timestamp_ms: i64,
    dirty: bool,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: Vec::new(),
            pending: Vec::new(),
            rebalance_deadline: None,
            join_not_before: None,
            sync_deadline: None,
            state_timestamp_ms: now_ms(),
            dirty: false,
        }
    }

    /// Rebuilds a group from its stored metadata (after a restart). Members
    /// come back with a fresh session: those that do not heartbeat expire.
    pub fn from_stored(id: &str, v: &GroupValue, now: Instant) -> Self {
        let mut g = Group::new(id);
        g.generation = v.generation;
        g.protocol_type = Some(v.protocol_type.clone()).filter(|t| !t.is_empty());
        g.protocol = v.protocol.clone();
        g.leader = v.leader.clone();
        g.state_timestamp_ms = v.current_state_timestamp;
        g.members = v
            .members
            .iter()
            .map(|m| Member {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout: Duration::from_millis(m.session_timeout_ms.max(0) as u64),
                rebalance_timeout: Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64),
                protocols: g
                    .protocol
                    .clone()
                    .map(|p| vec![(p, m.subscription.clone())])
                    .unwrap_or_default(),
                assignment: m.assignment.clone(),
                last_heartbeat: now,
                join_waiter: None,
                sync_waiter: None,
            })
            .collect();
        g.state = if g.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        g
    }

    /// The metadata to persist.
    pub fn to_stored(&self) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp_ms,
            members: self
                .members
                .iter()
                .map(|m| StoredMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis() as i32,
                    session_timeout_ms: m.session_timeout.as_millis() as i32,
                    subscription: m.metadata(self.protocol.as_deref()),
                    // As Kafka writes it: a generation awaiting its
                    // assignment has none yet.
                    assignment: if self.state == GroupState::CompletingRebalance {
                        Bytes::new()
                    } else {
                        m.assignment.clone()
                    },
                })
                .collect(),
        }
    }

    /// True once since the last call if the group metadata changed in a way
    /// that must be persisted.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Members, in join order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    fn set_state(&mut self, s: GroupState) {
        self.state = s;
        self.state_timestamp_ms = now_ms();
    }

    fn member_index(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.member_id == member_id)
    }

    fn instance_index(&self, instance_id: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.group_instance_id.as_deref() == Some(instance_id))
    }

    /// Finds a member, checking static-member fencing: a request naming an
    /// instance id with a different member id than the current one is from
    /// a fenced (old) instance.
    fn find(&self, member_id: &str, instance_id: Option<&str>) -> Result<usize, GroupError> {
        if let Some(inst) = instance_id {
            if let Some(i) = self.instance_index(inst) {
                if self.members[i].member_id != member_id {
                    return Err(GroupError::FencedInstanceId);
                }
                return Ok(i);
            }
        }
        self.member_index(member_id)
            .ok_or(GroupError::UnknownMemberId)
    }

    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        // Some protocol must be supported by every member and the newcomer.
        protocols.iter().any(|(name, _)| {
            self.members
                .iter()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    fn new_member_id(client_or_instance: &str) -> String {
        format!("{client_or_instance}-{}", uuid::Uuid::new_v4())
    }

    fn current_join_result(&self, member_id: &str) -> JoinResult {
        let is_leader = self.leader.as_deref() == Some(member_id);
        JoinResult {
            error: None,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if is_leader {
                self.join_members()
            } else {
                Vec::new()
            },
            skip_assignment: false,
        }
    }

    fn join_members(&self) -> Vec<JoinMember> {
        self.members
            .iter()
            .map(|m| JoinMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(self.protocol.as_deref()),
            })
            .collect()
    }

    /// Handles JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: Instant, cfg: &GroupConfig) -> Reply<JoinResult> {
        if self.state == GroupState::Dead {
            return Reply::Now(JoinResult::error(
                GroupError::CoordinatorNotAvailable,
                &req.member_id,
            ));
        }
        if req.session_timeout < cfg.min_session_timeout
            || req.session_timeout > cfg.max_session_timeout
        {
            return Reply::Now(JoinResult::error(
                GroupError::InvalidSessionTimeout,
                &req.member_id,
            ));
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            return Reply::Now(JoinResult::error(
                GroupError::InconsistentGroupProtocol,
                &req.member_id,
            ));
        }
        if req.member_id.is_empty() {
            if let Some(inst) = req.group_instance_id.clone() {
                return self.join_static_unknown(req, &inst, now, cfg);
            }
            let new_id = Self::new_member_id(&req.client_id);
            if req.require_known_member_id {
                self.pending
                    .push((new_id.clone(), now + req.session_timeout));
                return Reply::Now(JoinResult::error(GroupError::MemberIdRequired, &new_id));
            }
            return self.add_member_and_wait(new_id, req, now, cfg);
        }
        if let Some(p) = self.pending.iter().position(|(id, _)| *id == req.member_id) {
            self.pending.swap_remove(p);
            let id = req.member_id.clone();
            return self.add_member_and_wait(id, req, now, cfg);
        }
        let idx = match self.find(&req.member_id, req.group_instance_id.as_deref()) {
            Ok(i) => i,
            Err(e) => return Reply::Now(JoinResult::error(e, &req.member_id)),
        };
        let unchanged = self.members[idx].protocols == req.protocols;
        let is_leader = self.leader.as_deref() == Some(req.member_id.as_str());
        match self.state {
            GroupState::CompletingRebalance if unchanged => {
                // The member missed its JoinGroup answer: give it again.
                Reply::Now(self.current_join_result(&req.member_id))
            }
            GroupState::Stable if unchanged && !is_leader => {
                self.members[idx].last_heartbeat = now;
                Reply::Now(self.current_join_result(&req.member_id))
            }
            _ => self.rejoin(idx, &req, now, cfg),
        }
    }

    fn join_static_unknown(
        &mut self,
        req: JoinRequest,
        inst: &str,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Reply<JoinResult> {
        let new_id = Self::new_member_id(inst);
        let Some(idx) = self.instance_index(inst) else {
            return self.add_member_and_wait(new_id, req, now, cfg);
        };
        // A static member restarting: it takes over the old member id. The
        // old instance is fenced (its id no longer matches).
        self.members[idx].fail_waits(&GroupError::FencedInstanceId);
        let old_id = std::mem::replace(&mut self.members[idx].member_id, new_id.clone());
        if self.leader.as_deref() == Some(old_id.as_str()) {
            self.leader = Some(new_id.clone());
        }
        if self.state == GroupState::Stable {
            // As Kafka: the restarted member's new metadata (a fresh client
            // no longer lists the partitions it owned) triggers no rebalance
            // unless it changes the protocol the group would select. Same
            // generation; its SyncGroup returns its previous assignment, and
            // a restarted leader is told to keep it (KIP-814).
            self.members[idx].protocols = req.protocols.clone();
            if self.select_protocol() == self.protocol {
                let m = &mut self.members[idx];
                m.last_heartbeat = now;
                m.client_id = req.client_id;
                m.client_host = req.client_host;
                m.session_timeout = req.session_timeout;
                m.rebalance_timeout = req.rebalance_timeout;
                self.dirty = true;
                let mut result = self.current_join_result(&new_id);
                result.skip_assignment = self.leader.as_deref() == Some(new_id.as_str());
                return Reply::Now(result);
            }
        }
        self.rejoin(idx, &req, now, cfg)
    }

    /// An existing member (re)joins with possibly new metadata: it waits
    /// for the join phase, which starts now unless it already runs.
    fn rejoin(
        &mut self,
        idx: usize,
        req: &JoinRequest,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Reply<JoinResult> {
        self.update_member(idx, req, now);
        let rx = self.await_join(idx);
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now, cfg);
        }
        self.maybe_complete_join(now);
        Reply::Later(rx)
    }

    fn update_member(&mut self, idx: usize, req: &JoinRequest, now: Instant) {
        let m = &mut self.members[idx];
        m.protocols = req.protocols.clone();
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        m.session_timeout = req.session_timeout;
        m.rebalance_timeout = req.rebalance_timeout;
        m.last_heartbeat = now;
    }

    fn await_join(&mut self, idx: usize) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(old) = self.members[idx].join_waiter.replace(tx) {
            // A second JoinGroup from the same member supersedes the first.
            let _ = old.send(JoinResult::error(
                GroupError::RebalanceInProgress,
                &self.members[idx].member_id,
            ));
        }
        rx
    }

    fn add_member_and_wait(
        &mut self,
        member_id: String,
        req: JoinRequest,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Reply<JoinResult> {
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        self.members.push(Member {
            member_id,
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout: req.session_timeout,
            rebalance_timeout: req.rebalance_timeout,
            protocols: req.protocols.clone(),
            assignment: Bytes::new(),
            last_heartbeat: now,
            join_waiter: None,
            sync_waiter: None,
        });
        let idx = self.members.len() - 1;
        let rx = self.await_join(idx);
        if self.state == GroupState::PreparingRebalance {
            // Newcomers during the initial delay extend it (Kafka's
            // InitialDelayedJoin), bounded by the rebalance deadline.
            if let Some(nb) = self.join_not_before {
                let extended = now + cfg.initial_rebalance_delay;
                let cap = self.rebalance_deadline.unwrap_or(extended);
                self.join_not_before = Some(nb.max(extended).min(cap));
            }
        } else {
            self.prepare_rebalance(now, cfg);
        }
        self.maybe_complete_join(now);
        Reply::Later(rx)
    }

    fn prepare_rebalance(&mut self, now: Instant, cfg: &GroupConfig) {
        let was_empty = self.state == GroupState::Empty;
        // Members waiting for an assignment will not get one now.
        for m in &mut self.members {
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncResult::error(GroupError::RebalanceInProgress));
            }
        }
        let timeout = self
            .members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        self.rebalance_deadline = Some(now + timeout);
        self.join_not_before = if was_empty && !cfg.initial_rebalance_delay.is_zero() {
            Some((now + cfg.initial_rebalance_delay).min(now + timeout))
        } else {
            None
        };
        self.sync_deadline = None;
        self.set_state(GroupState::PreparingRebalance);
    }

    /// Completes the join phase when every member has rejoined (and any
    /// initial delay has passed), or when the rebalance deadline passed:
    /// then members that did not rejoin are removed.
    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.iter().all(|m| m.join_waiter.is_some());
        let delay_over = self.join_not_before.is_none_or(|t| now >= t);
        let timed_out = self.rebalance_deadline.is_some_and(|d| now >= d);
        if !((all_joined && delay_over) || timed_out) {
            return;
        }
        self.members.retain(|m| m.join_waiter.is_some());
        self.rebalance_deadline = None;
        self.join_not_before = None;
        self.generation += 1;
        self.dirty = true;
        if self.members.is_empty() {
            self.protocol = None;
            self.leader = None;
            self.set_state(GroupState::Empty);
            return;
        }
        self.protocol = self.select_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| &m.member_id == l))
        {
            self.leader = Some(self.members[0].member_id.clone());
        }
        self.set_state(GroupState::CompletingRebalance);
        let max_rebalance = self
            .members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.sync_deadline = Some(now + max_rebalance);
        let leader_members = self.join_members();
        for i in 0..self.members.len() {
            // The previous assignment stays (DescribeGroups reports it, as
            // Kafka does) until the leader's SyncGroup replaces it.
            self.members[i].last_heartbeat = now;
            let id = self.members[i].member_id.clone();
            let mut result = self.current_join_result(&id);
            if self.leader.as_deref() == Some(id.as_str()) {
                result.members = leader_members.clone();
            }
            if let Some(w) = self.members[i].join_waiter.take() {
                let _ = w.send(result);
            }
        }
    }

    /// The protocol every member supports that most members prefer.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
            })
            .collect();
        let votes = |c: &String| {
            self.members
                .iter()
                .filter(|m| {
                    m.protocols
                        .iter()
                        .map(|(p, _)| p)
                        .find(|p| candidates.contains(p))
                        == Some(c)
                })
                .count()
        };
        let mut best: Option<(&String, usize)> = None;
        for c in &candidates {
            let v = votes(c);
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    fn check_protocol(
        &self,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
    ) -> Result<(), GroupError> {
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|n| Some(n) != self.protocol.as_deref())
        {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        Ok(())
    }

    fn sync_ok(&self, assignment: Bytes) -> SyncResult {
        SyncResult {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment,
        }
    }

    /// Handles SyncGroup; `assignments` is what the leader sent (others send none).
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Reply<SyncResult> {
        let idx = match self.find(member_id, instance_id) {
            Ok(i) => i,
            Err(e) => return Reply::Now(SyncResult::error(e)),
        };
        if generation != self.generation {
            return Reply::Now(SyncResult::error(GroupError::IllegalGeneration));
        }
        if let Err(e) = self.check_protocol(protocol_type, protocol_name) {
            return Reply::Now(SyncResult::error(e));
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                Reply::Now(SyncResult::error(GroupError::UnknownMemberId))
            }
            GroupState::PreparingRebalance => {
                Reply::Now(SyncResult::error(GroupError::RebalanceInProgress))
            }
            GroupState::Stable => Reply::Now(self.sync_ok(self.members[idx].assignment.clone())),
            GroupState::CompletingRebalance => {
                self.members[idx].last_heartbeat = now;
                let (tx, rx) = oneshot::channel();
                if let Some(old) = self.members[idx].sync_waiter.replace(tx) {
                    let _ = old.send(SyncResult::error(GroupError::RebalanceInProgress));
                }
                if self.leader.as_deref() == Some(member_id) {
                    for m in &mut self.members {
                        m.assignment = assignments
                            .iter()
                            .find(|(id, _)| *id == m.member_id)
                            .map(|(_, a)| a.clone())
                            .unwrap_or_default();
                    }
                    self.sync_deadline = None;
                    self.set_state(GroupState::Stable);
                    self.dirty = true;
                    for i in 0..self.members.len() {
                        if let Some(w) = self.members[i].sync_waiter.take() {
                            let result = self.sync_ok(self.members[i].assignment.clone());
                            let _ = w.send(result);
                        }
                    }
                }
                Reply::Later(rx)
            }
        }
    }

    /// Handles Heartbeat; returns the error to answer with, if any.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Option<GroupError> {
        if matches!(self.state, GroupState::Empty | GroupState::Dead) {
            return Some(GroupError::UnknownMemberId);
        }
        let idx = match self.find(member_id, instance_id) {
            Ok(i) => i,
            Err(e) => return Some(e),
        };
        if generation != self.generation {
            return Some(GroupError::IllegalGeneration);
        }
        self.members[idx].last_heartbeat = now;
        match self.state {
            GroupState::PreparingRebalance => Some(GroupError::RebalanceInProgress),
            _ => None,
        }
    }

    /// Handles one member of a LeaveGroup.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Option<GroupError> {
        if let Some(p) = self.pending.iter().position(|(id, _)| id == member_id) {
            self.pending.swap_remove(p);
            return None;
        }
        let idx = match instance_id {
            Some(inst) => match self.instance_index(inst) {
                Some(i) if member_id.is_empty() || self.members[i].member_id == member_id => i,
                Some(_) => return Some(GroupError::FencedInstanceId),
                None => return Some(GroupError::UnknownMemberId),
            },
            None => match self.member_index(member_id) {
                Some(i) => i,
                None => return Some(GroupError::UnknownMemberId),
            },
        };
        self.remove_member(idx, now, cfg);
        None
    }

    fn remove_member(&mut self, idx: usize, now: Instant, cfg: &GroupConfig) {
        self.members
            .remove(idx)
            .fail_waits(&GroupError::UnknownMemberId);
        self.dirty = true;
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, cfg)
            }
            _ => {}
        }
        self.maybe_complete_join(now);
    }

    /// Answers every member waiting in a join or sync with `e` (the group
    /// is being unloaded: its coordinator moved to another broker).
    pub fn fail_waits(&mut self, e: &GroupError) {
        self.members.iter_mut().for_each(|m| m.fail_waits(e));
    }

    /// Advances timers: expires members whose session lapsed, pending member
    /// ids never used, rebalances whose deadline passed, and syncs the
    /// leader never completed.
    pub fn tick(&mut self, now: Instant, cfg: &GroupConfig) {
        self.pending.retain(|(_, deadline)| *deadline > now);
        while let Some(idx) = self.members.iter().position(|m| {
            m.join_waiter.is_none() && now.duration_since(m.last_heartbeat) >= m.session_timeout
        }) {
            self.remove_member(idx, now, cfg);
        }
        if self.state == GroupState::CompletingRebalance
            && self.sync_deadline.is_some_and(|d| now >= d)
        {
            // The leader never sent the assignment within the rebalance
            // timeout: drop every member that did not sync (the leader
            // among them) and start over with the rest.
            self.members.retain(|m| m.sync_waiter.is_some());
            self.dirty = true;
            self.prepare_rebalance(now, cfg);
        }
        self.maybe_complete_join(now);
    }

    /// Whether an offset commit from this member may proceed.
    pub fn check_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        if generation < 0 && member_id.is_empty() {
            // Simple (group-less) commits, e.g. admin tools or assign().
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(GroupError::UnknownMemberId)
            };
        }
        self.find(member_id, instance_id)?;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Topics any member subscribed to (consumer protocol), for OffsetDelete.
    pub fn subscribed_topics(&self) -> Option<Vec<String>> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let mut topics = Vec::new();
        for m in &self.members {
            let mut meta = m.metadata(self.protocol.as_deref());
            if meta.len() < 2 {
                return None;
            }
            let version = i16::from_be_bytes([meta[0], meta[1]]);
            let _ = bytes::Buf::get_i16(&mut meta);
            let sub = ConsumerProtocolSubscription::decode(&mut meta, version.clamp(0, 3)).ok()?;
            topics.extend(sub.topics.iter().map(|t| t.to_string()));
        }
        Some(topics)
    }
}
