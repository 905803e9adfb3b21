//! The security part of the metadata image: ACL bindings and SCRAM
//! credentials, as the records left them. Not here: what an ACL means
//! (the broker's authorizer) or how a SCRAM exchange runs (the `sasl`
//! crate). Both maps sit behind an `Arc` so that applying any other record
//! copies nothing, and so that the broker can tell by pointer whether the
//! ACLs changed since it last looked ([`SecurityImage::acls_arc`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::MetadataError;
use crate::records::MetadataRecord;

/// One ACL binding (Kafka's wire codes, uninterpreted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclImage {
    /// The binding's id.
    pub id: Uuid,
    /// Resource type code.
    pub resource_type: i8,
    /// Resource name or prefix.
    pub resource_name: String,
    /// Pattern type code.
    pub pattern_type: i8,
    /// `Type:name` principal.
    pub principal: String,
    /// Host, `*` for any.
    pub host: String,
    /// Operation code.
    pub operation: i8,
    /// Permission type code.
    pub permission_type: i8,
}

/// One user's salted SCRAM credential for one mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredentialImage {
    /// User name.
    pub name: String,
    /// SCRAM mechanism code (SHA-256 1, SHA-512 2).
    pub mechanism: i8,
    /// Salt.
    pub salt: Vec<u8>,
    /// RFC 5802 StoredKey.
    pub stored_key: Vec<u8>,
    /// RFC 5802 ServerKey.
    pub server_key: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

/// ACLs by id and SCRAM credentials by (user, mechanism).
#[derive(Debug, Clone, Default)]
pub struct SecurityImage {
    acls: Arc<BTreeMap<Uuid, AclImage>>,
    scram: Arc<BTreeMap<(String, i8), ScramCredentialImage>>,
}

impl SecurityImage {
    /// Every ACL binding, by id.
    pub fn acls(&self) -> impl Iterator<Item = &AclImage> {
        self.acls.values()
    }

    /// The ACL map itself: the same `Arc` (by pointer) until an ACL record
    /// is applied, so a reader can skip rebuilding what depends on it.
    pub fn acls_arc(&self) -> &Arc<BTreeMap<Uuid, AclImage>> {
        &self.acls
    }

    /// The credential of `name` for `mechanism`, if set.
    pub fn scram_credential(&self, name: &str, mechanism: i8) -> Option<&ScramCredentialImage> {
        self.scram.get(&(name.to_string(), mechanism))
    }

    /// Every SCRAM credential, ordered by user then mechanism.
    pub fn scram_credentials(&self) -> impl Iterator<Item = &ScramCredentialImage> {
        self.scram.values()
    }

    /// The records that rebuild this part of the image (for snapshots).
    pub(super) fn to_records(&self, out: &mut Vec<MetadataRecord>) {
        for a in self.acls.values() {
            out.push(MetadataRecord::AclCreated {
                id: a.id,
                resource_type: a.resource_type,
                resource_name: a.resource_name.clone(),
                pattern_type: a.pattern_type,
                principal: a.principal.clone(),
                host: a.host.clone(),
                operation: a.operation,
                permission_type: a.permission_type,
            });
        }
        for c in self.scram.values() {
            out.push(MetadataRecord::ScramCredentialSet {
                name: c.name.clone(),
                mechanism: c.mechanism,
                salt: c.salt.clone(),
                stored_key: c.stored_key.clone(),
                server_key: c.server_key.clone(),
                iterations: c.iterations,
            });
        }
    }

    /// Applies a security record (other records change nothing here). A
    /// duplicate ACL id, or removing an ACL or credential that does not
    /// exist, is an error (the controller checks before it commits).
    pub(super) fn apply(&mut self, rec: &MetadataRecord) -> Result<(), MetadataError> {
        match rec {
            MetadataRecord::AclCreated {
                id,
                resource_type,
                resource_name,
                pattern_type,
                principal,
                host,
                operation,
                permission_type,
            } => {
                if self.acls.contains_key(id) {
                    return Err(MetadataError::Invalid(format!("ACL {id} already exists")));
                }
                Arc::make_mut(&mut self.acls).insert(
                    *id,
                    AclImage {
                        id: *id,
                        resource_type: *resource_type,
                        resource_name: resource_name.clone(),
                        pattern_type: *pattern_type,
                        principal: principal.clone(),
                        host: host.clone(),
                        operation: *operation,
                        permission_type: *permission_type,
                    },
                );
            }
            MetadataRecord::AclRemoved { id } if !self.acls.contains_key(id) => {
                return Err(MetadataError::Invalid(format!("unknown ACL {id}")));
            }
            MetadataRecord::AclRemoved { id } => {
                Arc::make_mut(&mut self.acls).remove(id);
            }
            MetadataRecord::ScramCredentialSet {
                name,
                mechanism,
                salt,
                stored_key,
                server_key,
                iterations,
            } => {
                Arc::make_mut(&mut self.scram).insert(
                    (name.clone(), *mechanism),
                    ScramCredentialImage {
                        name: name.clone(),
                        mechanism: *mechanism,
                        salt: salt.clone(),
                        stored_key: stored_key.clone(),
                        server_key: server_key.clone(),
                        iterations: *iterations,
                    },
                );
            }
            MetadataRecord::ScramCredentialRemoved { name, mechanism } => {
                let key = (name.clone(), *mechanism);
                if !self.scram.contains_key(&key) {
                    return Err(MetadataError::Invalid(format!(
                        "no SCRAM credential of mechanism {mechanism} for user {name}"
                    )));
                }
                Arc::make_mut(&mut self.scram).remove(&key);
            }
            _ => {}
        }
        Ok(())
    }
}
