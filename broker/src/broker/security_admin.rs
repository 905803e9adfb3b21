//! The security metadata the admin APIs change and read: ACL bindings
//! (CreateAcls, DescribeAcls, DeleteAcls) and SCRAM credentials
//! (AlterUserScramCredentials, DescribeUserScramCredentials), validated
//! against the current image the way Kafka 4.1's controller validates them
//! (`AclControlManager`, `ScramControlManager`, `ScramImage.describe`) and
//! committed as metadata records through the quorum, every change of one
//! request in one batch. Also the lookup the SASL authenticator makes
//! ([`Broker::scram_credential`]).
//!
//! Not here: who may call these (the handlers ask the authorizer), what a
//! binding allows (`authorizer/`), the SCRAM exchange itself (the `sasl`
//! crate). Secrets (salts, salted passwords, keys) are never logged.

use std::collections::{BTreeMap, HashMap, HashSet};

use memorystreamer_raft::MetadataRecord;
use memorystreamer_sasl::{ScramCredential, ScramMechanism};
use tracing::info;
use uuid::Uuid;

use super::Broker;
use crate::authorizer::{AclBinding, AclBindingFilter};
use crate::error::BrokerError;
use crate::security::binding;

/// Kafka's bound on the records one user operation may write
/// (`MAX_RECORDS_PER_USER_OP`): a DeleteAcls request removing more ACLs
/// fails as a whole.
pub const MAX_ACL_REMOVALS: usize = 10_000;

/// One AlterUserScramCredentials upsertion as the client sent it: the
/// client salts the password (PBKDF2), the broker derives the keys.
#[derive(Clone)]
pub struct ScramUpsertion {
    /// User name.
    pub name: String,
    /// Kafka's mechanism type code (1 SHA-256, 2 SHA-512).
    pub mechanism: i8,
    /// PBKDF2 iterations.
    pub iterations: i32,
    /// Salt.
    pub salt: Vec<u8>,
    /// Hi(password, salt, iterations).
    pub salted_password: Vec<u8>,
}

/// Never prints the salt or the salted password.
impl std::fmt::Debug for ScramUpsertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramUpsertion")
            .field("name", &self.name)
            .field("mechanism", &self.mechanism)
            .field("iterations", &self.iterations)
            .field("secrets", &"[hidden]")
            .finish()
    }
}

/// One user's answer in DescribeUserScramCredentials: its (mechanism code,
/// iterations) pairs, or why not.
pub type ScramDescription = (String, Result<Vec<(i8, i32)>, BrokerError>);

/// Where one user of an AlterUserScramCredentials request stands while the
/// request is read (Kafka's `userToDeletion` / `userToUpsert` /
/// `userToError`).
enum Alteration<'a> {
    Delete(i8),
    Upsert(&'a ScramUpsertion),
    Failed(BrokerError),
}

const ALTERED_TWICE: &str = "A user credential cannot be altered twice in the same request";

impl Broker {
    /// CreateAcls: one result per binding, in order. Each is checked
    /// ([`AclBinding::validate`]); one identical to a stored binding, or to
    /// an earlier one of the same request, succeeds without being stored
    /// twice (as Kafka's `AclControlManager`). The new bindings are
    /// committed together; `Err` when that commit fails (every binding of
    /// the request then fails with it, as in Kafka).
    pub async fn create_acls(
        &self,
        bindings: &[AclBinding],
    ) -> Result<Vec<Result<(), BrokerError>>, BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let mut existing: HashSet<AclBinding> = image.security().acls().map(binding).collect();
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(bindings.len());
        for b in bindings {
            let result = b.validate();
            if result.is_ok() && existing.insert(b.clone()) {
                records.push(MetadataRecord::AclCreated {
                    id: new_acl_id(&image, &records),
                    resource_type: b.resource_type.code(),
                    resource_name: b.resource_name.clone(),
                    pattern_type: b.pattern_type.code(),
                    principal: b.principal.clone(),
                    host: b.host.clone(),
                    operation: b.operation.code(),
                    permission_type: b.permission.code(),
                });
                info!(acl = %b, "creating ACL");
            }
            results.push(result);
        }
        if !records.is_empty() {
            image.apply_all(&records)?;
            self.commit(records).await?;
        }
        Ok(results)
    }

    /// DescribeAcls: every stored binding the filter selects.
    pub fn describe_acls(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.metadata()
            .security()
            .acls()
            .map(binding)
            .filter(|b| filter.matches(b))
            .collect()
    }

    /// DeleteAcls: per filter (in order) the bindings it selected, or why
    /// the filter is refused ([`AclBindingFilter::validate`]). A binding
    /// several filters select is listed by each and removed once; all
    /// removals are committed together. `Err` when the request would
    /// remove more than [`MAX_ACL_REMOVALS`] bindings (Kafka's
    /// INVALID_REQUEST for every filter, nothing removed) or the commit
    /// fails.
    pub async fn delete_acls(
        &self,
        filters: &[AclBindingFilter],
    ) -> Result<Vec<Result<Vec<AclBinding>, BrokerError>>, BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let stored: Vec<(Uuid, AclBinding)> = image
            .security()
            .acls()
            .map(|a| (a.id, binding(a)))
            .collect();
        let mut removed: Vec<Uuid> = Vec::new();
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut results = Vec::with_capacity(filters.len());
        for filter in filters {
            if let Err(e) = filter.validate() {
                results.push(Err(e));
                continue;
            }
            let mut matched = Vec::new();
            for (id, b) in &stored {
                if filter.matches(b) {
                    matched.push(b.clone());
                    if seen.insert(*id) {
                        removed.push(*id);
                        if removed.len() > MAX_ACL_REMOVALS {
                            return Err(BrokerError::InvalidRequest(format!(
                                "Cannot remove more than {MAX_ACL_REMOVALS} acls in a single \
                                 delete operation."
                            )));
                        }
                    }
                }
            }
            results.push(Ok(matched));
        }
        if !removed.is_empty() {
            let records: Vec<MetadataRecord> = removed
                .iter()
                .map(|id| MetadataRecord::AclRemoved { id: *id })
                .collect();
            image.apply_all(&records)?;
            self.commit(records).await?;
            info!(count = removed.len(), "ACLs removed");
        }
        Ok(results)
    }

    /// AlterUserScramCredentials, as Kafka 4.1's `ScramControlManager`: one
    /// result per distinct user, the successful deletions first, then the
    /// successful upsertions, then the failures (each group in request
    /// order). A user named twice (in deletions or upsertions, any
    /// mechanism) fails with DUPLICATE_RESOURCE and none of its changes is
    /// made. All changes are committed together; `Err` when that commit
    /// fails.
    pub async fn alter_scram_credentials(
        &self,
        deletions: &[(String, i8)],
        upsertions: &[ScramUpsertion],
    ) -> Result<Vec<(String, Result<(), BrokerError>)>, BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let security = image.security();
        let mut order: Vec<&str> = Vec::new();
        let mut users: HashMap<&str, Alteration<'_>> = HashMap::new();
        for (name, mechanism) in deletions {
            match users.get(name.as_str()) {
                Some(Alteration::Failed(_)) => {}
                Some(_) => {
                    let dup = BrokerError::DuplicateResource(ALTERED_TWICE.into());
                    users.insert(name, Alteration::Failed(dup));
                }
                None => {
                    order.push(name);
                    let state = match check_user_and_mechanism(name, *mechanism) {
                        Err(e) => Alteration::Failed(e),
                        Ok(()) if security.scram_credential(name, *mechanism).is_none() => {
                            Alteration::Failed(BrokerError::ResourceNotFound(
                                "Attempt to delete a user credential that does not exist".into(),
                            ))
                        }
                        Ok(()) => Alteration::Delete(*mechanism),
                    };
                    users.insert(name, state);
                }
            }
        }
        for u in upsertions {
            match users.get(u.name.as_str()) {
                Some(Alteration::Failed(_)) => {}
                Some(_) => {
                    let dup = BrokerError::DuplicateResource(ALTERED_TWICE.into());
                    users.insert(&u.name, Alteration::Failed(dup));
                }
                None => {
                    order.push(&u.name);
                    let state = match check_upsertion(u) {
                        Err(e) => Alteration::Failed(e),
                        Ok(()) => Alteration::Upsert(u),
                    };
                    users.insert(&u.name, state);
                }
            }
        }
        let mut records = Vec::new();
        let mut done = Vec::new();
        for name in &order {
            if let Some(Alteration::Delete(mechanism)) = users.get(name) {
                records.push(MetadataRecord::ScramCredentialRemoved {
                    name: name.to_string(),
                    mechanism: *mechanism,
                });
                done.push((name.to_string(), Ok(())));
            }
        }
        for name in &order {
            let Some(Alteration::Upsert(u)) = users.get(name) else {
                continue;
            };
            match upsertion_record(u) {
                Ok(rec) => {
                    records.push(rec);
                    done.push((name.to_string(), Ok(())));
                }
                Err(e) => {
                    users.insert(name, Alteration::Failed(e));
                }
            }
        }
        for name in &order {
            if let Some(Alteration::Failed(_)) = users.get(name) {
                if let Some(Alteration::Failed(e)) = users.remove(name) {
                    done.push((name.to_string(), Err(e)));
                }
            }
        }
        if !records.is_empty() {
            image.apply_all(&records)?;
            let changed: Vec<(&str, i8)> = records
                .iter()
                .filter_map(|r| match r {
                    MetadataRecord::ScramCredentialSet {
                        name, mechanism, ..
                    }
                    | MetadataRecord::ScramCredentialRemoved { name, mechanism } => {
                        Some((name.as_str(), *mechanism))
                    }
                    _ => None,
                })
                .collect();
            info!(?changed, "SCRAM credentials altered");
            self.commit(records).await?;
        }
        Ok(done)
    }

    /// DescribeUserScramCredentials, as Kafka 4.1's `ScramImage.describe`:
    /// `None` or an empty list describes every user with a credential (in
    /// name order); otherwise each distinct name in request order, a name
    /// asked twice getting DUPLICATE_RESOURCE and a user without
    /// credentials RESOURCE_NOT_FOUND. Only mechanisms and iteration
    /// counts are returned, never salts or keys.
    pub fn describe_scram_credentials(&self, users: Option<&[String]>) -> Vec<ScramDescription> {
        let image = self.metadata();
        let security = image.security();
        let mut wanted: Vec<(String, bool)> = Vec::new();
        match users {
            Some(names) if !names.is_empty() => {
                let mut index: HashMap<&str, usize> = HashMap::new();
                for n in names {
                    match index.get(n.as_str()) {
                        Some(&i) => wanted[i].1 = true,
                        None => {
                            index.insert(n, wanted.len());
                            wanted.push((n.clone(), false));
                        }
                    }
                }
            }
            _ => {
                let mut all: BTreeMap<&str, ()> = BTreeMap::new();
                for c in security.scram_credentials() {
                    all.insert(&c.name, ());
                }
                wanted.extend(all.keys().map(|n| (n.to_string(), false)));
            }
        }
        wanted
            .into_iter()
            .map(|(name, duplicate)| {
                if duplicate {
                    let e = BrokerError::DuplicateResource(format!(
                        "Cannot describe SCRAM credentials for the same user twice in a single \
                         request: {name}"
                    ));
                    return (name, Err(e));
                }
                let infos: Vec<(i8, i32)> = [ScramMechanism::Sha256, ScramMechanism::Sha512]
                    .iter()
                    .filter_map(|m| {
                        security
                            .scram_credential(&name, m.type_code())
                            .map(|c| (m.type_code(), c.iterations))
                    })
                    .collect();
                if infos.is_empty() {
                    let e = BrokerError::ResourceNotFound(format!(
                        "Attempt to describe a user credential that does not exist: {name}"
                    ));
                    (name, Err(e))
                } else {
                    (name, Ok(infos))
                }
            })
            .collect()
    }

    /// The stored SCRAM credential of `user` for `mechanism` in the
    /// current image (for the SASL authenticator); `None` when the user
    /// has none, or the stored one is unusable (negative iterations).
    pub fn scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Option<ScramCredential> {
        crate::security::scram_credential(&self.metadata(), user, mechanism)
    }
}

/// A fresh ACL id, unused in the image and in the records being built.
fn new_acl_id(image: &memorystreamer_raft::MetadataImage, pending: &[MetadataRecord]) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        let taken = image.security().acls().any(|a| a.id == id)
            || pending
                .iter()
                .any(|r| matches!(r, MetadataRecord::AclCreated { id: p, .. } if *p == id));
        if !taken {
            return id;
        }
    }
}

/// Kafka's `validateScramUsernameAndMechanism`.
fn check_user_and_mechanism(name: &str, mechanism: i8) -> Result<(), BrokerError> {
    if name.is_empty() {
        return Err(BrokerError::UnacceptableCredential(
            "Username must not be empty".into(),
        ));
    }
    if ScramMechanism::from_type(mechanism).is_none() {
        return Err(BrokerError::UnsupportedSaslMechanism(
            "Unknown SCRAM mechanism".into(),
        ));
    }
    Ok(())
}

/// Kafka's `validateUpsertion`.
fn check_upsertion(u: &ScramUpsertion) -> Result<(), BrokerError> {
    check_user_and_mechanism(&u.name, u.mechanism)?;
    if i64::from(u.iterations) < i64::from(ScramMechanism::MIN_ITERATIONS) {
        return Err(BrokerError::UnacceptableCredential(
            "Too few iterations".into(),
        ));
    }
    if i64::from(u.iterations) > i64::from(ScramMechanism::MAX_ITERATIONS) {
        return Err(BrokerError::UnacceptableCredential(
            "Too many iterations".into(),
        ));
    }
    Ok(())
}

/// The record storing an upsertion: StoredKey and ServerKey derived from
/// the salted password. Kafka's `ScramFormatter` accepts any salt and
/// salted-password length; ours refuses an empty salt and a salted
/// password that is not one hash long (no client sends either), with
/// UNACCEPTABLE_CREDENTIAL.
fn upsertion_record(u: &ScramUpsertion) -> Result<MetadataRecord, BrokerError> {
    let mechanism = ScramMechanism::from_type(u.mechanism)
        .ok_or_else(|| BrokerError::UnsupportedSaslMechanism("Unknown SCRAM mechanism".into()))?;
    let iterations = u32::try_from(u.iterations)
        .map_err(|_| BrokerError::UnacceptableCredential("Too few iterations".into()))?;
    let c =
        ScramCredential::from_salted_password(mechanism, &u.salted_password, &u.salt, iterations)
            .map_err(|e| BrokerError::UnacceptableCredential(e.to_string()))?;
    Ok(MetadataRecord::ScramCredentialSet {
        name: u.name.clone(),
        mechanism: u.mechanism,
        salt: c.salt,
        stored_key: c.stored_key,
        server_key: c.server_key,
        iterations: u.iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsertion(iterations: i32) -> ScramUpsertion {
        ScramUpsertion {
            name: "alice".into(),
            mechanism: 1,
            iterations,
            salt: b"salt".to_vec(),
            salted_password: vec![9; 32],
        }
    }

    #[test]
    fn iteration_bounds_are_kafkas_and_inclusive() {
        let msg = |i| check_upsertion(&upsertion(i)).map_err(|e| e.to_string());
        assert_eq!(msg(4095), Err("Too few iterations".into()));
        assert_eq!(msg(4096), Ok(()));
        assert_eq!(msg(16384), Ok(()));
        assert_eq!(msg(16385), Err("Too many iterations".into()));
        assert_eq!(msg(-1), Err("Too few iterations".into()));
        let mut u = upsertion(4096);
        u.mechanism = 3;
        assert_eq!(check_upsertion(&u).map_err(|e| e.code()), Err(33));
        u.name.clear();
        assert_eq!(check_upsertion(&u).map_err(|e| e.code()), Err(93));
    }

    /// The record holds StoredKey and ServerKey derived from the salted
    /// password (RFC 5802), never the salted password itself.
    #[test]
    fn the_record_holds_derived_keys_not_the_salted_password() {
        let u = upsertion(8192);
        let Ok(MetadataRecord::ScramCredentialSet {
            name,
            mechanism,
            salt,
            stored_key,
            server_key,
            iterations,
        }) = upsertion_record(&u)
        else {
            panic!("not a credential record");
        };
        let expected =
            ScramCredential::from_salted_password(ScramMechanism::Sha256, &[9; 32], b"salt", 8192)
                .expect("credential");
        assert_eq!((name.as_str(), mechanism, iterations), ("alice", 1, 8192));
        assert_eq!(salt, b"salt");
        assert_eq!(stored_key, expected.stored_key);
        assert_eq!(server_key, expected.server_key);
        assert_ne!(stored_key, u.salted_password);
        assert_ne!(server_key, u.salted_password);
        let mut short = upsertion(8192);
        short.salted_password.pop();
        assert_eq!(
            upsertion_record(&short).map_err(|e| e.code()).err(),
            Some(93)
        );
    }

    #[test]
    fn upsertions_never_print_secrets() {
        let mut u = upsertion(4096);
        u.salted_password = b"SECRET-SALTED".to_vec();
        u.salt = b"SECRET-SALT".to_vec();
        let shown = format!("{u:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("83, 69"),
            "{shown}"
        );
    }
}
