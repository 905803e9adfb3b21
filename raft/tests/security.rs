//! ACL and SCRAM-credential records in the metadata image: applying,
//! removing, refusing what does not fit, and surviving a snapshot.

use std::sync::Arc;

use memorystreamer_raft::{MetadataImage, MetadataRecord};
use uuid::Uuid;

fn acl(id: u128, principal: &str) -> MetadataRecord {
    MetadataRecord::AclCreated {
        id: Uuid::from_u128(id),
        resource_type: 2,
        resource_name: "orders".into(),
        pattern_type: 3,
        principal: principal.into(),
        host: "*".into(),
        operation: 4,
        permission_type: 3,
    }
}

fn scram(name: &str, mechanism: i8, iterations: i32) -> MetadataRecord {
    MetadataRecord::ScramCredentialSet {
        name: name.into(),
        mechanism,
        salt: vec![9; 16],
        stored_key: vec![1; 32],
        server_key: vec![2; 32],
        iterations,
    }
}

#[test]
fn acls_are_added_and_removed_by_id() {
    let img = MetadataImage::default()
        .apply_all(&[acl(1, "User:alice"), acl(2, "User:bob")])
        .expect("apply");
    let principals: Vec<&str> = img
        .security()
        .acls()
        .map(|a| a.principal.as_str())
        .collect();
    assert_eq!(principals, ["User:alice", "User:bob"]);
    let img = img
        .apply(&MetadataRecord::AclRemoved {
            id: Uuid::from_u128(1),
        })
        .expect("remove");
    let left: Vec<Uuid> = img.security().acls().map(|a| a.id).collect();
    assert_eq!(left, [Uuid::from_u128(2)]);
}

#[test]
fn a_duplicate_acl_id_or_an_unknown_removal_is_refused_and_changes_nothing() {
    let img = MetadataImage::default()
        .apply(&acl(1, "User:alice"))
        .expect("apply");
    assert!(img.apply(&acl(1, "User:mallory")).is_err());
    assert!(img
        .apply(&MetadataRecord::AclRemoved {
            id: Uuid::from_u128(7)
        })
        .is_err());
    assert!(img
        .apply(&MetadataRecord::ScramCredentialRemoved {
            name: "nobody".into(),
            mechanism: 1
        })
        .is_err());
    // A batch with one bad record is refused whole.
    assert!(img
        .apply_all(&[acl(2, "User:bob"), acl(1, "User:again")])
        .is_err());
    assert_eq!(img.security().acls().count(), 1);
    assert_eq!(img.offset, 1);
}

#[test]
fn scram_credentials_are_set_per_mechanism_replaced_and_removed() {
    let img = MetadataImage::default()
        .apply_all(&[scram("alice", 1, 4096), scram("alice", 2, 8192)])
        .expect("apply");
    let sec = img.security();
    assert_eq!(
        sec.scram_credential("alice", 1).map(|c| c.iterations),
        Some(4096)
    );
    assert_eq!(
        sec.scram_credential("alice", 2).map(|c| c.iterations),
        Some(8192)
    );
    assert!(sec.scram_credential("bob", 1).is_none());
    let img = img.apply(&scram("alice", 1, 10000)).expect("replace");
    assert_eq!(
        img.security()
            .scram_credential("alice", 1)
            .map(|c| c.iterations),
        Some(10000)
    );
    let img = img
        .apply(&MetadataRecord::ScramCredentialRemoved {
            name: "alice".into(),
            mechanism: 2,
        })
        .expect("remove");
    assert!(img.security().scram_credential("alice", 2).is_none());
    assert_eq!(img.security().scram_credentials().count(), 1);
}

#[test]
fn a_snapshot_rebuilds_acls_and_credentials() {
    let img = MetadataImage::default()
        .apply_all(&[
            acl(1, "User:alice"),
            acl(2, "User:*"),
            scram("alice", 2, 4096),
        ])
        .expect("apply");
    let rebuilt = MetadataImage::default()
        .apply_all(&img.to_records())
        .expect("rebuild");
    let acls = |i: &MetadataImage| i.security().acls().cloned().collect::<Vec<_>>();
    let creds = |i: &MetadataImage| {
        i.security()
            .scram_credentials()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(acls(&rebuilt), acls(&img));
    assert_eq!(creds(&rebuilt), creds(&img));
    assert_eq!(acls(&img).len(), 2);
}

#[test]
fn other_records_leave_the_acl_map_shared() {
    let img = MetadataImage::default()
        .apply(&acl(1, "User:alice"))
        .expect("apply");
    let next = img
        .apply(&MetadataRecord::ClusterIdSet {
            cluster_id: "c".into(),
        })
        .expect("apply");
    assert!(Arc::ptr_eq(
        img.security().acls_arc(),
        next.security().acls_arc()
    ));
    let changed = next.apply(&acl(2, "User:bob")).expect("apply");
    assert!(!Arc::ptr_eq(
        next.security().acls_arc(),
        changed.security().acls_arc()
    ));
}
