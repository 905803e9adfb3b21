//! Classic consumer groups: states and assignments through JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup, DescribeGroups and ListGroups
//! (Empty → CompletingRebalance → Stable → PreparingRebalance → … → Dead),
//! the member and generation errors, and static membership fencing.
//!
//! Requests that block on the coordinator (a JoinGroup waiting for the
//! other members, a follower's SyncGroup) are sent on their own connection
//! and read later; waits for a state poll DescribeGroups with a deadline.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use memorystreamer_compat_tests::differential::wire::{str_bytes, topic_name, Answer, WireClient};

use super::requests::create_topic;
use super::Side;

const JOIN_V: i16 = 9;
const SYNC_V: i16 = 5;
const HEARTBEAT_V: i16 = 4;
const LEAVE_V: i16 = 5;
const COMMIT_V: i16 = 8;
const DESCRIBE_V: i16 = 5;
const LIST_V: i16 = 4;

/// A consumer-protocol subscription (v0) to `gl-topic` with `user_data`:
/// Kafka's coordinator parses the metadata of `consumer` groups.
fn subscription(user_data: &[u8]) -> Bytes {
    let mut b = Vec::new();
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&8i16.to_be_bytes());
    b.extend_from_slice(b"gl-topic");
    b.extend_from_slice(&(user_data.len() as i32).to_be_bytes());
    b.extend_from_slice(user_data);
    Bytes::from(b)
}

/// A consumer-protocol assignment (v0) of `gl-topic` partition 0 with
/// `user_data`.
fn assignment(user_data: &[u8]) -> Bytes {
    let mut b = Vec::new();
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&8i16.to_be_bytes());
    b.extend_from_slice(b"gl-topic");
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&(user_data.len() as i32).to_be_bytes());
    b.extend_from_slice(user_data);
    Bytes::from(b)
}

fn join_req(
    group: &str,
    member: &str,
    instance: Option<&str>,
    meta: &'static [u8],
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(20_000)
        .with_member_id(str_bytes(member))
        .with_group_instance_id(instance.map(str_bytes))
        .with_protocol_type(str_bytes("consumer"))
        .with_protocols(vec![
            join_group_request::JoinGroupRequestProtocol::default()
                .with_name(str_bytes("range"))
                .with_metadata(subscription(meta)),
            join_group_request::JoinGroupRequestProtocol::default()
                .with_name(str_bytes("roundrobin"))
                .with_metadata(subscription(meta)),
        ])
}

/// JoinGroup, retried (as clients do) while the coordinator is loading or
/// not available yet; only the final answer is returned.
fn join(c: &mut WireClient, req: &JoinGroupRequest) -> Answer<JoinGroupResponse> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r: Answer<JoinGroupResponse> = c.call(ApiKey::JoinGroup, JOIN_V, req);
        match &r {
            Answer::Response(j)
                if [14, 15, 16].contains(&j.error_code) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => return r,
        }
    }
}

fn sync_req(
    group: &str,
    gen: i32,
    member: &str,
    assignments: &[(&str, &'static [u8])],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_generation_id(gen)
        .with_member_id(str_bytes(member))
        .with_protocol_type(Some(str_bytes("consumer")))
        .with_protocol_name(Some(str_bytes("range")))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(str_bytes(m))
                        .with_assignment(assignment(a))
                })
                .collect(),
        )
}

fn heartbeat(
    c: &mut WireClient,
    group: &str,
    gen: i32,
    member: &str,
    instance: Option<&str>,
) -> Answer<HeartbeatResponse> {
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_generation_id(gen)
        .with_member_id(str_bytes(member))
        .with_group_instance_id(instance.map(str_bytes));
    c.call(ApiKey::Heartbeat, HEARTBEAT_V, &req)
}

fn leave(
    c: &mut WireClient,
    group: &str,
    members: &[(&str, Option<&str>)],
) -> Answer<LeaveGroupResponse> {
    let req = LeaveGroupRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_members(
            members
                .iter()
                .map(|(m, i)| {
                    leave_group_request::MemberIdentity::default()
                        .with_member_id(str_bytes(m))
                        .with_group_instance_id(i.map(str_bytes))
                })
                .collect(),
        );
    c.call(ApiKey::LeaveGroup, LEAVE_V, &req)
}

fn commit(
    c: &mut WireClient,
    group: &str,
    gen: i32,
    member: &str,
    topic: &str,
    offset: i64,
) -> Answer<OffsetCommitResponse> {
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_generation_id_or_member_epoch(gen)
        .with_member_id(str_bytes(member))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(-1)
                        .with_committed_metadata(Some(str_bytes("meta"))),
                ]),
        ]);
    c.call(ApiKey::OffsetCommit, COMMIT_V, &req)
}

fn describe(c: &mut WireClient, groups: &[&str]) -> Answer<DescribeGroupsResponse> {
    let req = DescribeGroupsRequest::default()
        .with_groups(groups.iter().map(|g| GroupId(str_bytes(g))).collect());
    c.call(ApiKey::DescribeGroups, DESCRIBE_V, &req)
}

fn list(c: &mut WireClient, states: &[&str]) -> Answer<ListGroupsResponse> {
    let req = ListGroupsRequest::default()
        .with_states_filter(states.iter().map(|s| str_bytes(s)).collect());
    c.call(ApiKey::ListGroups, LIST_V, &req)
}

/// Polls DescribeGroups until `group` is in `state` (bounded).
fn wait_state(c: &mut WireClient, group: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = describe(c, &[group]).expect_response("DescribeGroups");
        if r.groups[0].group_state.as_str() == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} never reached {state}: {:?}",
            r.groups[0]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Joins with an empty member id (MEMBER_ID_REQUIRED), then with the id
/// given; returns both answers.
fn join_twice(
    side: &mut Side,
    c: &mut WireClient,
    group: &str,
    label: &str,
    meta: &'static [u8],
) -> JoinGroupResponse {
    let first = join(c, &join_req(group, "", None, meta));
    side.rec.answer(&format!("{label}.join_without_id"), &first);
    let id = first.expect_response("JoinGroup").member_id;
    let second = join(c, &join_req(group, &id, None, meta));
    side.rec.answer(&format!("{label}.join"), &second);
    second.expect_response("JoinGroup")
}

/// Two members through join, sync, a rebalance, leave, and deletion.
pub fn group_lifecycle(side: &mut Side) {
    const G: &str = "gl";
    let (mut a, mut b, mut admin) = (side.client(), side.client(), side.client());
    create_topic(&mut admin, "gl-topic", 1, &[]);
    let fc = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![str_bytes(G)]);
    let r: Answer<FindCoordinatorResponse> = admin.call(ApiKey::FindCoordinator, 4, &fc);
    side.rec.answer("find_coordinator", &r);

    let ja = join_twice(side, &mut a, G, "a1", b"meta-a");
    let a_id = ja.member_id.to_string();
    side.rec
        .answer("after_first_join", &describe(&mut admin, &[G]));
    let r: Answer<SyncGroupResponse> = a.call(
        ApiKey::SyncGroup,
        SYNC_V,
        &sync_req(G, ja.generation_id, &a_id, &[(&a_id, b"assign-a-1")]),
    );
    side.rec.answer("a1.sync", &r);
    side.rec
        .answer("stable_one_member", &describe(&mut admin, &[G]));
    side.rec.answer(
        "a1.heartbeat",
        &heartbeat(&mut a, G, ja.generation_id, &a_id, None),
    );
    side.rec.answer("list_all", &list(&mut admin, &[]));
    side.rec
        .answer("list_stable", &list(&mut admin, &["Stable"]));

    // B joins: the group rebalances and waits for A to rejoin.
    let first = join(&mut b, &join_req(G, "", None, b"meta-b"));
    side.rec.answer("b2.join_without_id", &first);
    let b_id = first.expect_response("JoinGroup").member_id.to_string();
    let b_join = b
        .send(
            ApiKey::JoinGroup,
            JOIN_V,
            &join_req(G, &b_id, None, b"meta-b"),
        )
        .expect("send");
    wait_state(&mut admin, G, "PreparingRebalance");
    side.rec
        .answer("preparing_rebalance", &describe(&mut admin, &[G]));
    side.rec.answer(
        "a1.heartbeat_during_rebalance",
        &heartbeat(&mut a, G, ja.generation_id, &a_id, None),
    );
    let ra = join(&mut a, &join_req(G, &a_id, None, b"meta-a"));
    side.rec.answer("a2.join", &ra);
    let rb: Answer<JoinGroupResponse> = b.recv(JOIN_V, b_join);
    side.rec.answer("b2.join", &rb);
    let gen = ra.expect_response("JoinGroup").generation_id;
    side.rec
        .answer("completing_rebalance", &describe(&mut admin, &[G]));
    let b_sync = b
        .send(ApiKey::SyncGroup, SYNC_V, &sync_req(G, gen, &b_id, &[]))
        .expect("send");
    let r: Answer<SyncGroupResponse> = a.call(
        ApiKey::SyncGroup,
        SYNC_V,
        &sync_req(
            G,
            gen,
            &a_id,
            &[(&a_id, b"assign-a-2"), (&b_id, b"assign-b-2")],
        ),
    );
    side.rec.answer("a2.sync", &r);
    let r: Answer<SyncGroupResponse> = b.recv(SYNC_V, b_sync);
    side.rec.answer("b2.sync", &r);
    side.rec
        .answer("stable_two_members", &describe(&mut admin, &[G]));

    // B leaves: A must rejoin alone.
    side.rec
        .answer("b2.leave", &leave(&mut b, G, &[(&b_id, None)]));
    wait_state(&mut admin, G, "PreparingRebalance");
    side.rec.answer("after_leave", &describe(&mut admin, &[G]));
    side.rec.answer(
        "a2.heartbeat_after_leave",
        &heartbeat(&mut a, G, gen, &a_id, None),
    );
    let r = join(&mut a, &join_req(G, &a_id, None, b"meta-a"));
    side.rec.answer("a3.join", &r);
    let gen = r.expect_response("JoinGroup").generation_id;
    let r: Answer<SyncGroupResponse> = a.call(
        ApiKey::SyncGroup,
        SYNC_V,
        &sync_req(G, gen, &a_id, &[(&a_id, b"assign-a-3")]),
    );
    side.rec.answer("a3.sync", &r);
    side.rec
        .answer("a3.commit", &commit(&mut a, G, gen, &a_id, "gl-topic", 42));
    side.rec
        .answer("a3.leave", &leave(&mut a, G, &[(&a_id, None)]));
    side.rec.answer("empty", &describe(&mut admin, &[G]));
    side.rec.answer("list_empty", &list(&mut admin, &["Empty"]));
    side.rec.answer(
        "simple_commit",
        &commit(&mut admin, G, -1, "", "gl-topic", 43),
    );
    let del = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(str_bytes(G)), GroupId(str_bytes("gl-none"))]);
    let r: Answer<DeleteGroupsResponse> = admin.call(ApiKey::DeleteGroups, 2, &del);
    side.rec.answer("delete", &r);
    side.rec
        .answer("deleted", &describe(&mut admin, &[G, "gl-none"]));
}

/// Unknown members, illegal generations, invalid joins.
pub fn group_errors(side: &mut Side) {
    const G: &str = "ge";
    let (mut a, mut admin) = (side.client(), side.client());
    create_topic(&mut admin, "ge-topic", 1, &[]);
    let ja = join_twice(side, &mut a, G, "a", b"meta-a");
    let (gen, a_id) = (ja.generation_id, ja.member_id.to_string());
    let r: Answer<SyncGroupResponse> = a.call(
        ApiKey::SyncGroup,
        SYNC_V,
        &sync_req(G, gen, &a_id, &[(&a_id, b"x")]),
    );
    side.rec.answer("a.sync", &r);

    side.rec.answer(
        "heartbeat.unknown_group",
        &heartbeat(&mut admin, "ge-none", 1, "nobody", None),
    );
    side.rec.answer(
        "heartbeat.unknown_member",
        &heartbeat(&mut admin, G, gen, "nobody", None),
    );
    side.rec.answer(
        "heartbeat.illegal_generation",
        &heartbeat(&mut admin, G, gen + 6, &a_id, None),
    );
    let r: Answer<SyncGroupResponse> =
        admin.call(ApiKey::SyncGroup, SYNC_V, &sync_req(G, gen, "nobody", &[]));
    side.rec.answer("sync.unknown_member", &r);
    let r: Answer<SyncGroupResponse> =
        admin.call(ApiKey::SyncGroup, SYNC_V, &sync_req(G, gen + 6, &a_id, &[]));
    side.rec.answer("sync.illegal_generation", &r);
    side.rec.answer(
        "commit.unknown_member",
        &commit(&mut admin, G, gen, "nobody", "ge-topic", 1),
    );
    side.rec.answer(
        "commit.illegal_generation",
        &commit(&mut admin, G, gen + 6, &a_id, "ge-topic", 1),
    );
    side.rec.answer(
        "commit.ok",
        &commit(&mut admin, G, gen, &a_id, "ge-topic", 1),
    );
    side.rec.answer(
        "commit.unknown_topic",
        &commit(&mut admin, G, gen, &a_id, "ge-none", 1),
    );
    side.rec.answer(
        "commit.simple_on_active_group",
        &commit(&mut admin, G, -1, "", "ge-topic", 2),
    );

    let mut other = join_req(G, "", None, b"meta-x");
    other.protocol_type = str_bytes("connect");
    side.rec
        .answer("join.inconsistent_protocol_type", &join(&mut admin, &other));
    let mut other = join_req(G, "", None, b"meta-x");
    other.protocols.truncate(0);
    other.protocols.push(
        join_group_request::JoinGroupRequestProtocol::default()
            .with_name(str_bytes("sticky"))
            .with_metadata(subscription(b"m")),
    );
    side.rec
        .answer("join.no_common_protocol", &join(&mut admin, &other));
    let mut short = join_req("ge-short", "", None, b"meta-x");
    short.session_timeout_ms = 1;
    side.rec
        .answer("join.session_timeout_too_small", &join(&mut admin, &short));
    let mut long = join_req("ge-long", "", None, b"meta-x");
    long.session_timeout_ms = 3_600_000;
    side.rec
        .answer("join.session_timeout_too_large", &join(&mut admin, &long));
    side.rec.answer(
        "join.empty_group_id",
        &join(&mut admin, &join_req("", "", None, b"meta-x")),
    );
    side.rec.answer(
        "join.unknown_member_id",
        &join(&mut admin, &join_req(G, "nobody", None, b"meta-x")),
    );
    side.rec.answer(
        "leave.unknown_member",
        &leave(&mut admin, G, &[("nobody", None)]),
    );
    side.rec
        .answer("describe", &describe(&mut admin, &[G, "ge-none", ""]));
}

/// Static membership: a rejoin with the same group.instance.id replaces
/// the member, and the old member id is fenced.
pub fn static_membership(side: &mut Side) {
    const G: &str = "gs";
    let (mut a, mut a2, mut admin) = (side.client(), side.client(), side.client());
    let r = join(&mut a, &join_req(G, "", Some("instance-1"), b"meta-a"));
    side.rec.answer("a.join", &r);
    let ja = r.expect_response("JoinGroup");
    let (gen, old_id) = (ja.generation_id, ja.member_id.to_string());
    let mut sync = sync_req(G, gen, &old_id, &[(&old_id, b"assign-1")]);
    sync.group_instance_id = Some(str_bytes("instance-1"));
    let r: Answer<SyncGroupResponse> = a.call(ApiKey::SyncGroup, SYNC_V, &sync);
    side.rec.answer("a.sync", &r);
    side.rec.answer("stable", &describe(&mut admin, &[G]));

    let r = join(&mut a2, &join_req(G, "", Some("instance-1"), b"meta-a"));
    side.rec.answer("restarted.join", &r);
    let new_id = r.expect_response("JoinGroup").member_id.to_string();
    side.rec
        .answer("after_restart", &describe(&mut admin, &[G]));
    side.rec.answer(
        "old.heartbeat_fenced",
        &heartbeat(&mut a, G, gen, &old_id, Some("instance-1")),
    );
    side.rec.answer(
        "new.heartbeat",
        &heartbeat(&mut a2, G, gen, &new_id, Some("instance-1")),
    );
    side.rec.answer(
        "old.leave_fenced",
        &leave(&mut a, G, &[(&old_id, Some("instance-1"))]),
    );
    side.rec.answer(
        "unknown_instance.leave",
        &leave(&mut a, G, &[("", Some("instance-9"))]),
    );
    side.rec
        .answer("new.leave", &leave(&mut a2, G, &[("", Some("instance-1"))]));
    side.rec.answer("after_leave", &describe(&mut admin, &[G]));
}
