//! DescribeLogDirs (key 35): the one data directory with every (or every
//! requested) partition's size, and (v4+) the file system's total and usable
//! bytes as Kafka reports them (`FileStore::getTotalSpace` /
//! `getUsableSpace`, i.e. `statvfs` blocks and blocks available to
//! unprivileged users), or -1 when the file system cannot be asked.

use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    // DESCRIBE on the cluster, else a top-level error and no results.
    if !ctx.authorize(
        broker,
        AclOperation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        return DescribeLogDirsResponse::default()
            .with_error_code(kafka_protocol::ResponseError::ClusterAuthorizationFailed.code());
    }
    let mut by_topic: Vec<(String, Vec<DescribeLogDirsPartition>)> = Vec::new();
    let mut partitions = broker.replicas.all_partitions();
    partitions.sort_by(|a, b| (a.topic.as_str(), a.index).cmp(&(b.topic.as_str(), b.index)));
    for p in partitions {
        let wanted = req.topics.as_ref().is_none_or(|ts| {
            ts.iter()
                .any(|t| t.topic.as_str() == p.topic && t.partitions.contains(&p.index))
        });
        if !wanted {
            continue;
        }
        let (_, bytes) = p.disk_usage();
        let entry = DescribeLogDirsPartition::default()
            .with_partition_index(p.index)
            .with_partition_size(bytes as i64)
            .with_offset_lag(0);
        match by_topic.iter_mut().find(|(t, _)| *t == p.topic) {
            Some((_, v)) => v.push(entry),
            None => by_topic.push((p.topic.clone(), vec![entry])),
        }
    }
    let dir = std::fs::canonicalize(&broker.config.data_dir)
        .unwrap_or_else(|_| broker.config.data_dir.clone());
    let (total, usable) = disk_space(&dir);
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(sb(&dir.display().to_string()))
        .with_total_bytes(total)
        .with_usable_bytes(usable)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(sb(&t)))
                        .with_partitions(ps)
                })
                .collect(),
        )])
}

/// Total and usable bytes of the file system holding `dir`, or `(-1, -1)`
/// (Kafka's "unknown") when `statvfs` fails.
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let bytes =
                |blocks: u64| i64::try_from(blocks.saturating_mul(s.f_frsize)).unwrap_or(i64::MAX);
            (bytes(s.f_blocks), bytes(s.f_bavail))
        }
        Err(_) => (-1, -1),
    }
}
