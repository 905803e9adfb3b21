//! Listeners as Kafka names them: `listeners=NAME://HOST:PORT,...`, each
//! name mapped to a security protocol by `listener.security.protocol.map`
//! (by default every protocol name maps to itself, so `PLAINTEXT://:9092`
//! needs no map). Names are case-insensitive and kept upper-case, as
//! Kafka's `ListenerName.normalised` does.
//!
//! This module parses and checks; it is not the accept loop (`server.rs`)
//! and not TLS or SASL (`security/` configures each listener from the
//! `sasl` crate).

use std::collections::BTreeMap;

use crate::error::BrokerError;

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    Plaintext,
    /// TLS, optionally with client certificates.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Every protocol.
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// Kafka's name (`SASL_SSL`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// The protocol named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        SecurityProtocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `listener.security.protocol.map`: listener name → security protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolMap(BTreeMap<String, SecurityProtocol>);

impl ProtocolMap {
    /// Parses `NAME:PROTOCOL,...`. A malformed entry, an unknown protocol
    /// or a name given twice is an error naming the entry.
    pub fn parse(s: &str) -> Result<Self, BrokerError> {
        let bad = |why: String| {
            BrokerError::Config(format!("listener.security.protocol.map '{s}': {why}"))
        };
        let mut map = BTreeMap::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, protocol) = entry
                .split_once(':')
                .ok_or_else(|| bad(format!("'{entry}' is not NAME:PROTOCOL")))?;
            let name = name.trim().to_ascii_uppercase();
            if name.is_empty() {
                return Err(bad(format!("'{entry}' has no listener name")));
            }
            let protocol = SecurityProtocol::from_name(protocol)
                .ok_or_else(|| bad(format!("'{protocol}' is not a security protocol")))?;
            if map.insert(name.clone(), protocol).is_some() {
                return Err(bad(format!("listener {name} is mapped twice")));
            }
        }
        Ok(ProtocolMap(map))
    }

    /// The protocol of listener `name` (upper-case).
    pub fn get(&self, name: &str) -> Option<SecurityProtocol> {
        self.0.get(name).copied()
    }
}

/// A listener: name, security protocol, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener's name (upper-case), e.g. `PLAINTEXT` or `CLIENT`.
    pub name: String,
    /// Its security protocol, from `listener.security.protocol.map`.
    pub protocol: SecurityProtocol,
    /// Host to bind or advertise.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Listener {
    /// Parses `NAME://HOST:PORT` (HOST may be empty or a bracketed IPv6)
    /// with the default map (each protocol name maps to itself).
    pub fn parse(s: &str) -> Result<Self, BrokerError> {
        Listener::parse_with(s, &default_map())
    }

    /// Parses `NAME://HOST:PORT`, looking NAME up in `map`.
    pub fn parse_with(s: &str, map: &ProtocolMap) -> Result<Self, BrokerError> {
        let bad = |why: &str| BrokerError::Config(format!("listener '{s}': {why}"));
        let (name, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected NAME://HOST:PORT"))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("missing :PORT"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("port is not a number 0-65535"))?;
        let name = name.trim().to_ascii_uppercase();
        let protocol = map.get(&name).ok_or_else(|| {
            bad(&format!(
                "no security protocol defined for listener {name} (add it to \
                 listener.security.protocol.map)"
            ))
        })?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Listener {
            name,
            protocol,
            host,
            port,
        })
    }

    /// Parses a comma-separated list. As in Kafka, two listeners may share
    /// neither a name nor a port (`check_ports` = false for
    /// `advertised.listeners`, whose ports may repeat behind a proxy).
    pub(crate) fn parse_list(
        s: &str,
        map: &ProtocolMap,
        check_ports: bool,
    ) -> Result<Vec<Self>, BrokerError> {
        let list = s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|l| Listener::parse_with(l, map))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, l) in list.iter().enumerate() {
            for other in &list[..i] {
                if other.name == l.name {
                    return Err(BrokerError::Config(format!(
                        "listeners '{s}': each listener must have a different name ({} twice)",
                        l.name
                    )));
                }
                if check_ports && other.port == l.port && l.port != 0 {
                    return Err(BrokerError::Config(format!(
                        "listeners '{s}': each listener must have a different port ({} twice)",
                        l.port
                    )));
                }
            }
        }
        Ok(list)
    }
}

/// Kafka's default `listener.security.protocol.map`: every protocol name
/// maps to itself.
fn default_map() -> ProtocolMap {
    ProtocolMap(
        SecurityProtocol::ALL
            .into_iter()
            .map(|p| (p.name().to_string(), p))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_protocols() {
        let map = ProtocolMap::parse("CLIENT:PLAINTEXT, internal:plaintext").expect("map");
        let l = Listener::parse_with("client://[::1]:9092", &map).expect("listener");
        assert_eq!(l.name, "CLIENT");
        assert_eq!(l.protocol, SecurityProtocol::Plaintext);
        assert_eq!(l.host, "::1");
        assert_eq!(l.port, 9092);
        assert_eq!(
            Listener::parse_with("INTERNAL://:9093", &map)
                .expect("listener")
                .name,
            "INTERNAL"
        );
        let err = Listener::parse_with("OTHER://:9094", &map).expect_err("unmapped");
        assert!(err
            .to_string()
            .contains("no security protocol defined for listener OTHER"));
        // The default map knows only the protocol names.
        assert!(Listener::parse("CLIENT://:9092").is_err());
        assert_eq!(
            Listener::parse("plaintext://h:1").expect("default").name,
            "PLAINTEXT"
        );
    }

    #[test]
    fn bad_maps_and_lists_are_refused() {
        assert!(ProtocolMap::parse("A").is_err());
        assert!(ProtocolMap::parse("A:TLS").is_err());
        assert!(ProtocolMap::parse(":PLAINTEXT").is_err());
        assert!(ProtocolMap::parse("A:PLAINTEXT,a:SSL").is_err());
        let map = ProtocolMap::parse("A:PLAINTEXT,B:PLAINTEXT").expect("map");
        let names = Listener::parse_list("A://:1,a://:2", &map, true).expect_err("same name");
        assert!(names.to_string().contains("different name"), "{names}");
        let ports = Listener::parse_list("A://:1,B://:1", &map, true).expect_err("same port");
        assert!(ports.to_string().contains("different port"), "{ports}");
        assert_eq!(
            Listener::parse_list("A://h1:1,B://h2:1", &map, false)
                .expect("advertised ports may repeat")
                .len(),
            2
        );
    }

    #[test]
    fn secured_listeners_parse() {
        for (l, p) in [
            ("SSL://:9093", SecurityProtocol::Ssl),
            ("SASL_PLAINTEXT://:9094", SecurityProtocol::SaslPlaintext),
            ("SASL_SSL://:9095", SecurityProtocol::SaslSsl),
        ] {
            assert_eq!(Listener::parse(l).expect(l).protocol, p);
        }
    }
}
