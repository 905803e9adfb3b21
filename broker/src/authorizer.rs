//! What a principal may do, as Kafka's authorizer answers it.
//!
//! Today no authorizer is configured (security is a later issue), and Kafka
//! without `authorizer.class.name` allows every operation: the authorized
//! operations a client asks for (KIP-430: Metadata, DescribeCluster,
//! DescribeGroups, DescribeTopicPartitions) are therefore every operation
//! the resource type supports, as Kafka's `AclEntry.supportedOperations`
//! lists them. This module is not the ACL store nor the per-request checks;
//! those arrive with the authorizer, which will answer the same functions.

/// Kafka's `AclOperation` codes (the bit positions of the KIP-430 field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AclOperation {
    /// READ
    Read = 3,
    /// WRITE
    Write = 4,
    /// CREATE
    Create = 5,
    /// DELETE
    Delete = 6,
    /// ALTER
    Alter = 7,
    /// DESCRIBE
    Describe = 8,
    /// CLUSTER_ACTION
    ClusterAction = 9,
    /// DESCRIBE_CONFIGS
    DescribeConfigs = 10,
    /// ALTER_CONFIGS
    AlterConfigs = 11,
    /// IDEMPOTENT_WRITE
    IdempotentWrite = 12,
}

/// The value Kafka sends when authorized operations were not requested.
pub const NOT_REQUESTED: i32 = i32::MIN;

fn bits(ops: &[AclOperation]) -> i32 {
    ops.iter().fold(0, |acc, op| acc | (1 << *op as u8))
}

/// Operations on a topic (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,
/// DESCRIBE_CONFIGS, ALTER_CONFIGS).
pub fn topic_operations() -> i32 {
    use AclOperation::*;
    bits(&[
        Read,
        Write,
        Create,
        Delete,
        Alter,
        Describe,
        DescribeConfigs,
        AlterConfigs,
    ])
}

/// Operations on a consumer group (READ, DESCRIBE, DELETE).
pub fn group_operations() -> i32 {
    use AclOperation::*;
    bits(&[Read, Describe, Delete])
}

/// Operations on the cluster (CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
/// ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE).
pub fn cluster_operations() -> i32 {
    use AclOperation::*;
    bits(&[
        Create,
        ClusterAction,
        DescribeConfigs,
        AlterConfigs,
        IdempotentWrite,
        Alter,
        Describe,
    ])
}

/// `ops` when the client asked for authorized operations, else
/// [`NOT_REQUESTED`].
pub fn if_requested(requested: bool, ops: fn() -> i32) -> i32 {
    if requested {
        ops()
    } else {
        NOT_REQUESTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_match_kafka() {
        // Values Apache Kafka answers without an authorizer.
        assert_eq!(topic_operations().count_ones(), 8);
        assert_eq!(topic_operations(), 0b1101_1111_1000);
        assert_eq!(group_operations(), (1 << 3) | (1 << 6) | (1 << 8));
        assert_eq!(cluster_operations().count_ones(), 7);
        assert_eq!(cluster_operations() & (1 << 9), 1 << 9);
        assert_eq!(if_requested(false, topic_operations), i32::MIN);
    }
}
