//! CreatePartitions: validation, explicit assignments, and growth that
//! survives a restart.

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;

#[test]
fn create_partitions_grows_topics_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let grow = |name: &str, count: i32, validate_only: bool, assignments: Option<Vec<i32>>| {
        CreatePartitionsRequest::default()
            .with_validate_only(validate_only)
            .with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(topic_name(name))
                    .with_count(count)
                    .with_assignments(assignments.map(|a| {
                        a.into_iter()
                            .map(|b| {
                                create_partitions_request::CreatePartitionsAssignment::default()
                                    .with_broker_ids(vec![BrokerId(b)])
                            })
                            .collect()
                    })),
            ])
    };
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        create_topic(&mut c, "grow", 1);
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("grow", 3, true, None));
        assert_eq!(
            (r.results.len(), r.results[0].error_code),
            (1, 0),
            "validate_only answers the topic"
        );
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("grow", 1, false, None));
        assert_eq!(r.results[0].error_code, 37, "cannot shrink or keep");
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("nope", 2, false, None));
        assert_eq!(r.results[0].error_code, 3);
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            3,
            &grow("grow", 3, false, Some(vec![1, 9])),
        );
        assert_eq!(r.results[0].error_code, 39, "broker 9 does not exist");
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            3,
            &grow("grow", 3, false, Some(vec![1, 1])),
        );
        assert_eq!(r.results[0].error_code, 0);
        let r: ProduceResponse = c.call(
            ApiKey::Produce,
            9,
            &produce_req("grow", 2, batch(&["new"], -1, -1, Compression::None), -1),
        );
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name("grow"))),
        ])),
    );
    assert_eq!(r.topics[0].partitions.len(), 3, "growth survives a restart");
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("grow", 2, batch(&["again"], -1, -1, Compression::None), -1),
    );
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 1);
}
