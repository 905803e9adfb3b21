//! The openraft type configuration of the metadata quorum.
//!
//! A Raft log entry carries a [`MetadataRequest`]: the records of one
//! metadata change, applied to the image all-or-nothing (CreateTopics is a
//! `TopicCreated` plus its `PartitionCreated` records). The response says
//! whether the state machine accepted them; a rejected request (say, a topic
//! that already exists) leaves the image unchanged on every node, because
//! the decision is a pure function of the image and the records.

use serde::{Deserialize, Serialize};

use crate::records::MetadataRecord;

/// Node ids of the quorum (Kafka's `node.id`, non-negative).
pub type NodeId = u64;

/// Records of one metadata change, committed and applied atomically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataRequest {
    /// The records, applied in order.
    pub records: Vec<MetadataRecord>,
}

/// What applying a [`MetadataRequest`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// Why the records were rejected (the image is unchanged), if they were.
    pub error: Option<String>,
}

openraft::declare_raft_types!(
    /// openraft types of the metadata quorum.
    pub TypeConfig:
        D = MetadataRequest,
        R = MetadataResponse,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft log entry of the metadata quorum.
pub type Entry = openraft::Entry<TypeConfig>;
/// A Raft log id.
pub type LogId = openraft::LogId<NodeId>;
/// A Raft vote.
pub type Vote = openraft::Vote<NodeId>;
/// Storage error as openraft wants it.
pub type StorageError = openraft::StorageError<NodeId>;
/// Stored membership.
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
