//! Metadata (key 3): brokers, cluster id, controller, topics and partitions.
//!
//! `topics = null` means every topic; an empty list means none. A missing
//! topic is created when both the request allows it (v4+, always before)
//! and `auto.create.topics.enable` is on (with `default.replication.factor`);
//! it is then reported with its metadata at once (creation is synchronous
//! here), or with LEADER_NOT_AVAILABLE when the live brokers cannot hold
//! that factor (as Kafka answers while its asynchronous creation fails).
//! With an authorizer (Kafka's `handleTopicMetadataRequest`): topics the
//! principal may not DESCRIBE are left out of an all-topics answer and
//! refused with TOPIC_AUTHORIZATION_FAILED when named (before their
//! existence is checked); auto-creation needs CREATE on the cluster or the
//! topic, else TOPIC_AUTHORIZATION_FAILED.
//! Partitions list replicas, ISR and offline replicas from the image; one
//! without a live leader has leader -1 and LEADER_NOT_AVAILABLE.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::ResponseError;
use memorystreamer_raft::{MetadataImage, PartitionImage, TopicImage, NO_LEADER};
use tracing::{debug, warn};
use uuid::Uuid;

use super::sb;
use crate::authorizer::AclOperation::{Create, Describe};
use crate::authorizer::ResourceType::{Cluster, Topic};
use crate::authorizer::CLUSTER_NAME;
use crate::broker::{Broker, NewTopic};
use crate::context::RequestContext;
use crate::error::BrokerError;
use crate::metadata::MetadataCache;

/// One partition as Metadata answers it to a client of listener
/// `listener` (Kafka's `KRaftMetadataCache.getPartitionMetadata`):
/// replicas and ISR from the image, `offline_replicas` the replicas on
/// fenced or unregistered brokers or on brokers without that listener; a
/// partition without a live leader has leader -1 and LEADER_NOT_AVAILABLE,
/// one whose leader does not advertise the listener leader -1 and
/// LISTENER_NOT_FOUND (LEADER_NOT_AVAILABLE before version 6, as Kafka's
/// `errorUnavailableListeners`). The replicas are still listed.
pub(super) fn partition_metadata(
    image: &MetadataImage,
    p: &PartitionImage,
    listener: &str,
    version: i16,
) -> MetadataResponsePartition {
    let (leader, error) = leader_on_listener(image, p, listener, version >= 6);
    let r = MetadataResponsePartition::default()
        .with_partition_index(p.partition)
        .with_leader_id(BrokerId(leader))
        .with_leader_epoch(p.leader_epoch)
        .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
        .with_isr_nodes(p.isr.iter().map(|r| BrokerId(*r)).collect())
        .with_offline_replicas(
            MetadataCache::offline_replicas(image, p, listener)
                .into_iter()
                .map(BrokerId)
                .collect(),
        );
    match error {
        Some(e) => r.with_error_code(e.code()),
        None => r,
    }
}

/// The leader of `p` a client of `listener` is given, and the partition's
/// error: leader -1 with LEADER_NOT_AVAILABLE when it has no live leader,
/// leader -1 with LISTENER_NOT_FOUND (LEADER_NOT_AVAILABLE unless
/// `listener_not_found`) when its leader does not advertise the listener.
pub(super) fn leader_on_listener(
    image: &MetadataImage,
    p: &PartitionImage,
    listener: &str,
    listener_not_found: bool,
) -> (i32, Option<ResponseError>) {
    let leader = MetadataCache::effective_leader(image, p.leader);
    if leader < 0 {
        return (NO_LEADER, Some(ResponseError::LeaderNotAvailable));
    }
    match image.broker(leader) {
        Some(b) if b.endpoint(listener).is_none() => (
            NO_LEADER,
            Some(if listener_not_found {
                ResponseError::ListenerNotFound
            } else {
                ResponseError::LeaderNotAvailable
            }),
        ),
        _ => (leader, None),
    }
}

fn topic_metadata(
    image: &MetadataImage,
    t: &TopicImage,
    listener: &str,
    version: i16,
) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(sb(&t.name))))
        .with_topic_id(t.topic_id)
        .with_is_internal(crate::coordinator::is_internal(&t.name))
        .with_partitions(
            t.partitions
                .iter()
                .map(|p| partition_metadata(image, p, listener, version))
                .collect(),
        )
}

fn topic_error(name: Option<&str>, id: Uuid, e: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name.map(|n| TopicName(sb(n))))
        .with_topic_id(id)
        .with_error_code(e.code())
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: MetadataRequest,
) -> MetadataResponse {
    let allow_auto_create = ctx.version() < 4 || req.allow_auto_topic_creation;
    // Every address is the one of the listener the request came in on.
    let listener: &str = &ctx.session.listener;
    let version = ctx.version();
    let mut topics = Vec::new();
    match &req.topics {
        None => {
            let image = broker.cache.image();
            // Topics the principal may not DESCRIBE are left out silently.
            topics.extend(
                image
                    .topics()
                    .filter(|t| ctx.authorize(broker, Describe, Topic, &t.name))
                    .map(|t| topic_metadata(&image, t, listener, version)),
            );
        }
        Some(requested) => {
            for rt in requested {
                let image = broker.cache.image();
                let Some(name) = rt.name.as_ref().map(|n| n.to_string()) else {
                    // Lookup by topic id (v10+).
                    // "Topic IDs are not considered sensitive": an
                    // undescribable one is refused with its id, no name.
                    topics.push(match image.topic_by_id(&rt.topic_id) {
                        Some(t) if !ctx.authorize(broker, Describe, Topic, &t.name) => {
                            topic_error(None, rt.topic_id, ResponseError::TopicAuthorizationFailed)
                        }
                        Some(t) => topic_metadata(&image, t, listener, version),
                        None => topic_error(None, rt.topic_id, ResponseError::UnknownTopicId),
                    });
                    continue;
                };
                // Refused before the existence check, so the answer does
                // not tell whether the topic exists.
                if !ctx.authorize(broker, Describe, Topic, &name) {
                    topics.push(topic_error(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::TopicAuthorizationFailed,
                    ));
                    continue;
                }
                if let Some(t) = image.topic(&name) {
                    topics.push(topic_metadata(&image, t, listener, version));
                    continue;
                }
                if crate::broker::validate_topic_name(&name).is_err() {
                    // As Kafka: an illegal name is INVALID_TOPIC_EXCEPTION,
                    // not "unknown", and is never auto-created.
                    topics.push(topic_error(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::InvalidTopicException,
                    ));
                    continue;
                }
                if !(allow_auto_create && broker.config.auto_create_topics) {
                    topics.push(topic_error(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::UnknownTopicOrPartition,
                    ));
                    continue;
                }
                if !ctx.authorize(broker, Create, Cluster, CLUSTER_NAME)
                    && !ctx.authorize(broker, Create, Topic, &name)
                {
                    topics.push(topic_error(
                        Some(&name),
                        Uuid::nil(),
                        ResponseError::TopicAuthorizationFailed,
                    ));
                    continue;
                }
                let new = NewTopic {
                    name: name.clone(),
                    partitions: broker.config.num_partitions,
                    replication_factor: broker.config.default_replication_factor,
                    configs: Vec::new(),
                    assignments: None,
                };
                match broker.create_topic(&new, false).await {
                    Ok(t) => {
                        topics.push(topic_metadata(&broker.cache.image(), &t, listener, version))
                    }
                    Err(BrokerError::TopicAlreadyExists(_)) => {
                        match broker.cache.image().topic(&name) {
                            Some(t) => topics.push(topic_metadata(&image, t, listener, version)),
                            None => topics.push(topic_error(
                                Some(&name),
                                Uuid::nil(),
                                ResponseError::LeaderNotAvailable,
                            )),
                        }
                    }
                    // As Kafka, whose auto-creation is asynchronous: a
                    // replication factor the live brokers cannot hold
                    // leaves the topic "being created" (LEADER_NOT_AVAILABLE,
                    // retriable) while the controller refuses it.
                    Err(BrokerError::InvalidReplicationFactor(m)) => {
                        warn!(topic = %name, reason = %m, "auto-creation refused");
                        topics.push(topic_error(
                            Some(&name),
                            Uuid::nil(),
                            ResponseError::LeaderNotAvailable,
                        ));
                    }
                    Err(e) => {
                        debug!(topic = %name, error = %e, "auto-creation failed");
                        topics.push(topic_error(Some(&name), Uuid::nil(), e.response_error()));
                    }
                }
            }
        }
    }
    let live = broker.cache.live_brokers(&ctx.session.listener);
    let controller_id = broker.cache.controller_id(&live);
    let image = broker.cache.image();
    let brokers = live
        .into_iter()
        .map(|(id, host, port)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(sb(&host))
                .with_port(port)
                .with_rack(MetadataCache::rack(&image, id).map(|r| sb(&r)))
        })
        .collect();
    // KIP-430: without an authorizer every supported operation is allowed.
    for t in topics.iter_mut().filter(|t| t.error_code == 0) {
        let name = t.name.as_ref().map_or("", |n| n.as_str());
        t.topic_authorized_operations = ctx.authorized_operations(
            broker,
            req.include_topic_authorized_operations,
            Topic,
            name,
            crate::authorizer::topic_operations,
        );
    }
    MetadataResponse::default()
        .with_cluster_authorized_operations(ctx.authorized_operations(
            broker,
            req.include_cluster_authorized_operations,
            Cluster,
            CLUSTER_NAME,
            crate::authorizer::cluster_operations,
        ))
        .with_brokers(brokers)
        .with_cluster_id(Some(sb(&broker.cluster_id)))
        .with_controller_id(BrokerId(controller_id))
        .with_topics(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use memorystreamer_raft::{BrokerEndpoint, MetadataRecord};

    fn image() -> MetadataImage {
        let mut recs: Vec<MetadataRecord> = (1..=3)
            .map(|node_id| MetadataRecord::BrokerRegistered {
                node_id,
                host: format!("h{node_id}"),
                port: 9092,
                rack: None,
            })
            .collect();
        recs.push(MetadataRecord::BrokerFenced { node_id: 3 });
        MetadataImage::default()
            .apply_all(&recs)
            .expect("registrations apply")
    }

    fn partition(leader: i32, replicas: &[i32], isr: &[i32]) -> PartitionImage {
        PartitionImage {
            partition: 0,
            leader,
            leader_epoch: 4,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    #[test]
    fn offline_replicas_are_those_on_fenced_or_unknown_brokers() {
        let m = partition_metadata(&image(), &partition(1, &[1, 3, 7], &[1]), "PLAINTEXT", 12);
        assert_eq!(m.error_code, 0);
        assert_eq!(m.leader_id, BrokerId(1));
        assert_eq!(m.leader_epoch, 4);
        assert_eq!(m.replica_nodes, vec![BrokerId(1), BrokerId(3), BrokerId(7)]);
        assert_eq!(m.isr_nodes, vec![BrokerId(1)]);
        assert_eq!(m.offline_replicas, vec![BrokerId(3), BrokerId(7)]);
    }

    #[test]
    fn no_leader_is_leader_not_available_with_leader_minus_one() {
        for leader in [-1, 3] {
            let m =
                partition_metadata(&image(), &partition(leader, &[3, 2], &[2]), "PLAINTEXT", 12);
            assert_eq!(
                m.error_code,
                ResponseError::LeaderNotAvailable.code(),
                "leader {leader}"
            );
            assert_eq!(m.leader_id, BrokerId(-1));
            assert_eq!(m.replica_nodes, vec![BrokerId(3), BrokerId(2)]);
            assert_eq!(m.offline_replicas, vec![BrokerId(3)]);
        }
    }

    #[test]
    fn a_leader_without_the_listener_is_listener_not_found() {
        // Broker 1 advertises PLAINTEXT only, broker 2 also SASL_SSL.
        let image = image()
            .apply_all(&[
                MetadataRecord::BrokerListeners {
                    node_id: 1,
                    listeners: vec![endpoint("PLAINTEXT", 9092)],
                },
                MetadataRecord::BrokerListeners {
                    node_id: 2,
                    listeners: vec![endpoint("PLAINTEXT", 9092), endpoint("SASL_SSL", 9093)],
                },
            ])
            .expect("listeners apply");
        let p = partition(1, &[1, 2], &[1, 2]);
        let m = partition_metadata(&image, &p, "SASL_SSL", 12);
        assert_eq!(m.error_code, ResponseError::ListenerNotFound.code());
        assert_eq!(m.leader_id, BrokerId(-1));
        assert_eq!(m.offline_replicas, vec![BrokerId(1)]);
        // Before version 6 Kafka answers LEADER_NOT_AVAILABLE instead.
        let m = partition_metadata(&image, &p, "SASL_SSL", 5);
        assert_eq!(m.error_code, ResponseError::LeaderNotAvailable.code());
        // On the listener both advertise, broker 1 leads.
        let m = partition_metadata(&image, &p, "PLAINTEXT", 12);
        assert_eq!((m.error_code, m.leader_id), (0, BrokerId(1)));
        assert!(m.offline_replicas.is_empty());
    }

    fn endpoint(listener: &str, port: i32) -> BrokerEndpoint {
        BrokerEndpoint {
            listener: listener.into(),
            host: "h".into(),
            port,
        }
    }
}
