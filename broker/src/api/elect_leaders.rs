//! ElectLeaders (key 43): preferred leader elections, as
//! `kafka-leader-election.sh --election-type PREFERRED` and
//! `Admin.electLeaders` ask for them. `topic_partitions` null means every
//! partition, and then, as Kafka's controller does, partitions that need no
//! election are left out of the answer.
//!
//! Election type 0 (PREFERRED) is served by
//! `Broker::elect_preferred_leaders`. Type 1 (UNCLEAN) elects nothing here
//! (a leader only ever comes from the ISR): a partition with a leader
//! answers ELECTION_NOT_NEEDED, as in Kafka, one without answers
//! ELIGIBLE_LEADERS_NOT_AVAILABLE. Any other type is INVALID_REQUEST.

use std::sync::Arc;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::ResponseError;
use memorystreamer_raft::NO_LEADER;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::elections::{ElectionOutcome, ElectionResult};
use crate::broker::Broker;
use crate::context::RequestContext;

/// `ElectionType.PREFERRED`.
const PREFERRED: i8 = 0;
/// `ElectionType.UNCLEAN`.
const UNCLEAN: i8 = 1;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let asked: Option<Vec<(String, i32)>> = req.topic_partitions.as_ref().map(|tps| {
        tps.iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.0.to_string(), *p)))
            .collect()
    });
    // v0 has no election type: it is always PREFERRED.
    let election_type = if ctx.header.version() == 0 {
        PREFERRED
    } else {
        req.election_type
    };
    // ALTER on the cluster, else every partition and the top level are
    // refused.
    if !ctx.authorize(
        broker,
        AclOperation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        let code = kafka_protocol::ResponseError::ClusterAuthorizationFailed.code();
        return every_partition(asked.as_deref(), code, "Cluster authorization failed.")
            .with_error_code(code);
    }
    let all = asked.is_none();
    let answers: Vec<Answer> = match election_type {
        PREFERRED => match broker.elect_preferred_leaders(asked.as_deref()).await {
            Ok(r) => r
                .into_iter()
                // Kafka leaves out what needed nothing when asked for everything.
                .filter(|(_, _, o)| !(all && *o == ElectionOutcome::NotNeeded))
                .map(preferred_answer)
                .collect(),
            Err(e) => return every_partition(asked.as_deref(), ctx.error_code(&e), &e.to_string()),
        },
        UNCLEAN => unclean(broker, asked.as_deref()),
        other => {
            return every_partition(
                asked.as_deref(),
                ResponseError::InvalidRequest.code(),
                &format!("unknown election type {other}"),
            )
            .with_error_code(ResponseError::InvalidRequest.code())
        }
    };
    let mut by_topic: Vec<ReplicaElectionResult> = Vec::new();
    for (topic, index, code, message) in answers {
        push(&mut by_topic, &topic, index, code, message.map(sb));
    }
    ElectLeadersResponse::default().with_replica_election_results(by_topic)
}

/// One partition's answer: topic, partition, error code, error message.
type Answer = (String, i32, i16, Option<&'static str>);

fn preferred_answer((topic, index, outcome): ElectionResult) -> Answer {
    let (code, message) = match outcome {
        ElectionOutcome::Elected => (0, None),
        ElectionOutcome::NotNeeded => (
            ResponseError::ElectionNotNeeded.code(),
            Some("Leader election not needed for topic partition."),
        ),
        ElectionOutcome::PreferredNotAvailable => (
            ResponseError::PreferredLeaderNotAvailable.code(),
            Some("The preferred replica is not in the ISR or not live."),
        ),
        ElectionOutcome::UnknownTopicOrPartition => (
            ResponseError::UnknownTopicOrPartition.code(),
            Some("No such topic or partition."),
        ),
    };
    (topic, index, code, message)
}

/// UNCLEAN: nothing is ever elected outside the ISR here.
fn unclean(broker: &Arc<Broker>, asked: Option<&[(String, i32)]>) -> Vec<Answer> {
    let image = broker.metadata();
    let wanted: Vec<(String, i32)> = match asked {
        Some(a) => a.to_vec(),
        None => image
            .topics()
            .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.partition)))
            .collect(),
    };
    wanted
        .into_iter()
        .filter_map(|(topic, index)| {
            let (code, message) = match image.partition(&topic, index) {
                None => (
                    ResponseError::UnknownTopicOrPartition.code(),
                    "No such topic or partition.",
                ),
                Some(p) if p.leader != NO_LEADER => {
                    // Left out of an answer for every partition, as Kafka does.
                    asked?;
                    (
                        ResponseError::ElectionNotNeeded.code(),
                        "Leader election not needed for topic partition.",
                    )
                }
                Some(_) => (
                    ResponseError::EligibleLeadersNotAvailable.code(),
                    "Unclean leader election is not supported: a leader is only elected from the ISR.",
                ),
            };
            Some((topic, index, code, Some(message)))
        })
        .collect()
}

/// The same error for every asked partition (or, for null, an empty list
/// with the error at the top level).
fn every_partition(
    asked: Option<&[(String, i32)]>,
    code: i16,
    message: &str,
) -> ElectLeadersResponse {
    let mut by_topic = Vec::new();
    for (topic, index) in asked.unwrap_or_default() {
        push(&mut by_topic, topic, *index, code, Some(sb(message)));
    }
    let resp = ElectLeadersResponse::default().with_replica_election_results(by_topic);
    if asked.is_none() {
        resp.with_error_code(code)
    } else {
        resp
    }
}

fn push(
    by_topic: &mut Vec<ReplicaElectionResult>,
    topic: &str,
    index: i32,
    code: i16,
    message: Option<kafka_protocol::protocol::StrBytes>,
) {
    let result = PartitionResult::default()
        .with_partition_id(index)
        .with_error_code(code)
        .with_error_message(message);
    match by_topic.iter_mut().find(|t| t.topic.0.as_str() == topic) {
        Some(t) => t.partition_result.push(result),
        None => by_topic.push(
            ReplicaElectionResult::default()
                .with_topic(TopicName(sb(topic)))
                .with_partition_result(vec![result]),
        ),
    }
}
