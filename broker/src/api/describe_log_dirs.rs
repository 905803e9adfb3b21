//! DescribeLogDirs (key 35): the one data directory with every (or every
//! requested) partition's size. Free/total space (v4+) are reported as -1
//! (unknown): reading them needs `statvfs`, not wired in yet.

use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::sb;
use crate::broker::Broker;

pub fn handle(broker: &Arc<Broker>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let mut by_topic: Vec<(String, Vec<DescribeLogDirsPartition>)> = Vec::new();
    let mut partitions = broker.all_partitions();
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
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(sb(&dir.display().to_string()))
        .with_total_bytes(-1)
        .with_usable_bytes(-1)
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
