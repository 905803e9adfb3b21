//! Kafka's ACL vocabulary: resource types, pattern types, operations and
//! permission types with Kafka's wire codes and names, the [`AclBinding`]
//! CreateAcls stores, the checks Kafka makes before storing one
//! ([`AclBinding::validate`]), and the [`AclBindingFilter`] that
//! DescribeAcls and DeleteAcls select bindings with.
//!
//! This module is not the authorizer: what a set of bindings allows is
//! decided in `authorizer/index.rs`, and the requests that carry bindings
//! are decoded by their handlers.

use std::fmt;

use crate::error::BrokerError;

/// The only name a CLUSTER resource may have (Kafka's `CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The resource name, host or principal name that matches any.
pub const WILDCARD: &str = "*";

/// The principal an ACL names to match every principal (Kafka's
/// `WILDCARD_PRINCIPAL`: only this one, not `Group:*` or the like).
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// Declares a Kafka enum with its `i8` wire codes and Java names.
macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i8)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)+];

            /// The value for a wire code; `Unknown` for a code Kafka does not
            /// define (as Kafka's `fromCode`).
            pub fn from_code(code: i8) -> Self {
                match code {
                    $($code => $name::$variant,)+
                    _ => $name::Unknown,
                }
            }

            /// The wire code.
            pub fn code(self) -> i8 {
                self as i8
            }

            /// Kafka's name (`TRANSACTIONAL_ID`, `CLUSTER_ACTION`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value for a name, ignoring case and underscores, so
            /// both Kafka's enum names (`CLUSTER_ACTION`, what its
            /// `fromString` takes) and its tools' names (`ClusterAction`)
            /// are read; `Unknown` for anything else (as `fromString`).
            pub fn from_name(name: &str) -> Self {
                let wanted = |s: &str| {
                    let a = s.bytes().filter(|b| *b != b'_');
                    let b = name.bytes().filter(|b| *b != b'_');
                    a.map(|c| c.to_ascii_lowercase()).eq(b.map(|c| c.to_ascii_lowercase()))
                };
                $(if wanted($text) { return $name::$variant; })+
                $name::Unknown
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kafka_enum! {
    /// Kafka's `ResourceType`.
    ResourceType {
        /// A code this broker does not know.
        Unknown = 0 => "UNKNOWN",
        /// Any resource type (filters only).
        Any = 1 => "ANY",
        /// A topic.
        Topic = 2 => "TOPIC",
        /// A consumer group.
        Group = 3 => "GROUP",
        /// The cluster (always named [`CLUSTER_NAME`]).
        Cluster = 4 => "CLUSTER",
        /// A transactional id.
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        /// A delegation token.
        DelegationToken = 6 => "DELEGATION_TOKEN",
        /// A user (delegation tokens for others, KIP-373).
        User = 7 => "USER",
    }
}

kafka_enum! {
    /// Kafka's `PatternType`.
    PatternType {
        /// A code this broker does not know.
        Unknown = 0 => "UNKNOWN",
        /// Any pattern type (filters only).
        Any = 1 => "ANY",
        /// Every pattern that would match the filter's name (filters only).
        Match = 2 => "MATCH",
        /// The name itself, or `*` for every name.
        Literal = 3 => "LITERAL",
        /// Every name starting with the pattern's name.
        Prefixed = 4 => "PREFIXED",
    }
}

kafka_enum! {
    /// Kafka's `AclOperation`; its code is also its bit in the KIP-430
    /// authorized-operations field.
    AclOperation {
        /// A code this broker does not know.
        Unknown = 0 => "UNKNOWN",
        /// Any operation (filters only).
        Any = 1 => "ANY",
        /// Every operation.
        All = 2 => "ALL",
        /// READ
        Read = 3 => "READ",
        /// WRITE
        Write = 4 => "WRITE",
        /// CREATE
        Create = 5 => "CREATE",
        /// DELETE
        Delete = 6 => "DELETE",
        /// ALTER
        Alter = 7 => "ALTER",
        /// DESCRIBE
        Describe = 8 => "DESCRIBE",
        /// CLUSTER_ACTION
        ClusterAction = 9 => "CLUSTER_ACTION",
        /// DESCRIBE_CONFIGS
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        /// ALTER_CONFIGS
        AlterConfigs = 11 => "ALTER_CONFIGS",
        /// IDEMPOTENT_WRITE
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        /// CREATE_TOKENS
        CreateTokens = 13 => "CREATE_TOKENS",
        /// DESCRIBE_TOKENS
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
    }
}

kafka_enum! {
    /// Kafka's `AclPermissionType`.
    AclPermissionType {
        /// A code this broker does not know.
        Unknown = 0 => "UNKNOWN",
        /// Any permission type (filters only).
        Any = 1 => "ANY",
        /// Refuses the operation, whatever else allows it.
        Deny = 2 => "DENY",
        /// Allows the operation unless a DENY matches.
        Allow = 3 => "ALLOW",
    }
}

impl ResourceType {
    /// Whether this names one kind of resource (not `Any` or `Unknown`).
    pub fn is_concrete(self) -> bool {
        !matches!(self, ResourceType::Any | ResourceType::Unknown)
    }
}

impl AclOperation {
    /// Whether this names one operation or ALL (not `Any` or `Unknown`).
    pub fn is_concrete(self) -> bool {
        !matches!(self, AclOperation::Any | AclOperation::Unknown)
    }
}

/// The operations that apply to a resource type, as Kafka 4.1's
/// `AclEntry.supportedOperations` lists them (the operations KIP-430's
/// authorized-operations field reports); empty for `Any` and `Unknown`.
pub fn supported_operations(resource_type: ResourceType) -> &'static [AclOperation] {
    use AclOperation::*;
    match resource_type {
        ResourceType::Topic => &[
            Read,
            Write,
            Create,
            Describe,
            Delete,
            Alter,
            DescribeConfigs,
            AlterConfigs,
        ],
        ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
        ResourceType::Cluster => &[
            Create,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
            Alter,
            Describe,
        ],
        ResourceType::TransactionalId => &[Describe, Write],
        ResourceType::DelegationToken => &[Describe],
        ResourceType::User => &[CreateTokens, DescribeTokens],
        ResourceType::Any | ResourceType::Unknown => &[],
    }
}

/// One ACL: who may (or may not) do what to which resources, from where
/// (Kafka's `AclBinding`: a resource pattern plus an access-control entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBinding {
    /// The resource type.
    pub resource_type: ResourceType,
    /// The resource name, the prefix (PREFIXED) or `*` (LITERAL, every name).
    pub resource_name: String,
    /// LITERAL or PREFIXED once validated.
    pub pattern_type: PatternType,
    /// `Type:name`, e.g. `User:alice`; `User:*` for every principal.
    pub principal: String,
    /// A client address as Kafka prints it, or `*` for every host.
    pub host: String,
    /// The operation, or ALL.
    pub operation: AclOperation,
    /// ALLOW or DENY.
    pub permission: AclPermissionType,
}

impl AclBinding {
    /// The checks Kafka makes before storing a binding, in Kafka's order and
    /// with its messages, all INVALID_REQUEST: the broker's
    /// (`AclApis.handleCreateAcls`: the cluster's name, an empty name) then
    /// the controller's (`AclControlManager.validateNewAcl`: types that only
    /// filters use, the principal's `Type:` part).
    ///
    /// Like Kafka, this does not refuse an operation the resource type has
    /// no use for (READ on the cluster): only `kafka-acls` checks that, on
    /// the client side.
    pub fn validate(&self) -> Result<(), BrokerError> {
        let invalid = |msg: String| Err(BrokerError::InvalidRequest(msg));
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return invalid(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
            ));
        }
        if self.resource_name.is_empty() {
            return invalid("Invalid empty resource name".into());
        }
        if !self.resource_type.is_concrete() {
            return invalid(format!("Invalid resourceType {}", self.resource_type));
        }
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return invalid(format!("Invalid patternType {}", self.pattern_type));
        }
        if !self.operation.is_concrete() {
            return invalid(format!("Invalid operation {}", self.operation));
        }
        if !matches!(
            self.permission,
            AclPermissionType::Allow | AclPermissionType::Deny
        ) {
            return invalid(format!("Invalid permissionType {}", self.permission));
        }
        if !self.principal.contains(':') {
            return invalid(format!(
                "Could not parse principal from `{}` (no colon is present separating the \
                 principal type from the principal name)",
                self.principal
            ));
        }
        Ok(())
    }
}

/// Kafka's `AclBinding.toString`, for logs.
impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(pattern=ResourcePattern(resourceType={}, name={}, patternType={}), \
             entry=(principal={}, host={}, operation={}, permissionType={}))",
            self.resource_type,
            self.resource_name,
            self.pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission
        )
    }
}

/// Selects bindings (Kafka's `AclBindingFilter`: a `ResourcePatternFilter`
/// plus an `AccessControlEntryFilter`). `Any` and `None` match everything;
/// a name with pattern type MATCH selects every binding that would apply
/// to that name (the literal one, the `*` one and every prefix of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    /// `Any`, or the one resource type to select.
    pub resource_type: ResourceType,
    /// `None` for every name.
    pub resource_name: Option<String>,
    /// `Any`, `Match`, or the one pattern type to select.
    pub pattern_type: PatternType,
    /// `None` for every principal; otherwise compared as written (`User:*`
    /// selects only bindings written with `User:*`).
    pub principal: Option<String>,
    /// `None` for every host; otherwise compared as written.
    pub host: Option<String>,
    /// `Any`, or the one operation to select.
    pub operation: AclOperation,
    /// `Any`, or the one permission type to select.
    pub permission: AclPermissionType,
}

impl AclBindingFilter {
    /// The filter that selects every binding.
    pub const ANY: AclBindingFilter = AclBindingFilter {
        resource_type: ResourceType::Any,
        resource_name: None,
        pattern_type: PatternType::Any,
        principal: None,
        host: None,
        operation: AclOperation::Any,
        permission: AclPermissionType::Any,
    };

    /// Whether the filter selects `binding` (Kafka's
    /// `ResourcePatternFilter.matches` and `AccessControlEntryFilter.matches`).
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(binding) && self.matches_entry(binding)
    }

    fn matches_pattern(&self, b: &AclBinding) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != b.resource_type {
            return false;
        }
        let any_or_match = matches!(self.pattern_type, PatternType::Any | PatternType::Match);
        if !any_or_match && self.pattern_type != b.pattern_type {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == b.pattern_type {
            return *name == b.resource_name;
        }
        // MATCH: the bindings that would apply to `name`.
        match b.pattern_type {
            PatternType::Literal => *name == b.resource_name || b.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(b.resource_name.as_str()),
            // Kafka throws here; a stored binding is never of these types.
            _ => false,
        }
    }

    fn matches_entry(&self, b: &AclBinding) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == AclOperation::Any || self.operation == b.operation)
            && (self.permission == AclPermissionType::Any || self.permission == b.permission)
    }

    /// Whether a field is `Unknown` (Kafka's `AclBindingFilter.isUnknown`).
    pub fn is_unknown(&self) -> bool {
        self.resource_type == ResourceType::Unknown
            || self.pattern_type == PatternType::Unknown
            || self.operation == AclOperation::Unknown
            || self.permission == AclPermissionType::Unknown
    }

    /// The check Kafka's controller makes on a DeleteAcls filter
    /// (`AclControlManager.validateFilter`), with its messages.
    pub fn validate(&self) -> Result<(), BrokerError> {
        if self.resource_type == ResourceType::Unknown || self.pattern_type == PatternType::Unknown
        {
            return Err(BrokerError::InvalidRequest("Unknown patternFilter.".into()));
        }
        if self.operation == AclOperation::Unknown || self.permission == AclPermissionType::Unknown
        {
            return Err(BrokerError::InvalidRequest("Unknown entryFilter.".into()));
        }
        Ok(())
    }
}
