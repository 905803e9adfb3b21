//! The types of the config key tables: a key's value type, Kafka's
//! importance and dynamic level, one Kafka key ([`KafkaKey`]), and what a
//! key does in MemoryStreamer ([`Effect`]). Data types only: the tables are
//! `super::kafka_keys` (generated) and `super::registry`.

/// Value type of a key, numbered as DescribeConfigs v3+ sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// true/false
    Boolean = 1,
    /// Text.
    String = 2,
    /// 32-bit integer.
    Int = 3,
    /// 16-bit integer.
    Short = 4,
    /// 64-bit integer.
    Long = 5,
    /// Floating point.
    Double = 6,
    /// Comma-separated list.
    List = 7,
    /// A Java class name.
    Class = 8,
    /// A secret: never described with its value.
    Password = 9,
}

impl KeyType {
    /// Kafka's name of the type (as `ConfigDef.Type` prints it).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Boolean => "BOOLEAN",
            KeyType::String => "STRING",
            KeyType::Int => "INT",
            KeyType::Short => "SHORT",
            KeyType::Long => "LONG",
            KeyType::Double => "DOUBLE",
            KeyType::List => "LIST",
            KeyType::Class => "CLASS",
            KeyType::Password => "PASSWORD",
        }
    }
}

/// Kafka's importance of a key (documentation only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// Whether and where Kafka lets a key change at run time
/// (`kafka.server.DynamicBrokerConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// Not dynamic: server.properties and a restart only.
    ReadOnly,
    /// Dynamic, for one broker only (a node id resource, never the
    /// cluster-wide default).
    PerBroker,
    /// Dynamic, per broker or as the cluster-wide default.
    ClusterWide,
    /// Dynamic only with a `listener.name.<listener>.` prefix (SSL settings).
    ListenerOnly,
}

impl Dynamic {
    /// Kafka's name of the mode (`kafka-configs --help` lists these).
    pub fn name(self) -> &'static str {
        match self {
            Dynamic::ReadOnly => "read-only",
            Dynamic::PerBroker => "per-broker",
            Dynamic::ClusterWide => "cluster-wide",
            Dynamic::ListenerOnly => "per-listener",
        }
    }
}

/// One broker configuration key, as Kafka defines it.
#[derive(Debug, Clone, Copy)]
pub struct KafkaKey {
    /// The key.
    pub name: &'static str,
    /// Value type.
    pub kind: KeyType,
    /// Kafka's default as DescribeConfigs prints it; None when there is none.
    pub default: Option<&'static str>,
    /// Kafka's importance.
    pub importance: Importance,
    /// Whether and where it can change at run time.
    pub dynamic: Dynamic,
    /// Kafka defines the key as internal (`ConfigKey.internalConfig`): it
    /// is accepted in the configuration but neither documented nor listed
    /// by DescribeConfigs.
    pub internal: bool,
    /// The first sentence of Kafka's documentation.
    pub doc: &'static str,
}

/// What a key does in MemoryStreamer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Accepted and described for compatibility; nothing reads it.
    None,
    /// Read from the static configuration (server.properties, environment,
    /// flags). A dynamic value, where Kafka allows one, is stored and
    /// described but not applied.
    Static,
    /// Read from the configuration and, when changed at run time, applied at
    /// once.
    Live,
}
