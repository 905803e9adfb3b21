//! What the group state machine takes and returns: its settings, the
//! JoinGroup/SyncGroup requests and answers in coordinator terms, and the
//! answer-now-or-later [`Reply`]. Wire formats are the API handlers' job.

use std::time::Duration;

use crate::error::GroupError;
use bytes::Bytes;
use tokio::sync::oneshot;

/// Group states, named as Kafka names them in DescribeGroups/ListGroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (may still hold offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment delivered.
    Stable,
    /// Being removed.
    Dead,
}

impl GroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

pub use crate::config::settings::GroupConfig;

/// A JoinGroup as the state machine sees it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Member id ("" for a new member).
    pub member_id: String,
    /// Static instance id (KIP-345).
    pub group_instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout: Duration,
    /// Rebalance timeout (v1+; the session timeout before).
    pub rebalance_timeout: Duration,
    /// Protocol type ("consumer").
    pub protocol_type: String,
    /// Supported protocols in preference order, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// KIP-394: a new dynamic member must first obtain its id (v4+).
    pub require_known_member_id: bool,
}

/// One member in a JoinGroup answer to the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Metadata for the selected protocol.
    pub metadata: Bytes,
}

/// A JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// Error (None on success).
    pub error: Option<GroupError>,
    /// Generation.
    pub generation_id: i32,
    /// Protocol type.
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// Leader member id.
    pub leader: String,
    /// The member's id (new members learn theirs here).
    pub member_id: String,
    /// All members, for the leader only.
    pub members: Vec<JoinMember>,
    /// KIP-814 (JoinGroup v9+): the leader of a stable group restarted as a
    /// static member; it keeps the current assignment instead of computing
    /// a new one.
    pub skip_assignment: bool,
}

impl JoinResult {
    /// An error answer.
    pub fn error(e: GroupError, member_id: &str) -> Self {
        JoinResult {
            error: Some(e),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
            skip_assignment: false,
        }
    }
}

/// A SyncGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    /// Error (None on success).
    pub error: Option<GroupError>,
    /// Protocol type.
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// The member's assignment, exactly as the leader sent it (empty if none).
    pub assignment: Bytes,
}

impl SyncResult {
    /// An error answer.
    pub fn error(e: GroupError) -> Self {
        SyncResult {
            error: Some(e),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// An answer now, or one to await.
#[derive(Debug)]
pub enum Reply<T> {
    /// Ready.
    Now(T),
    /// Delivered when the group gets there.
    Later(oneshot::Receiver<T>),
}
