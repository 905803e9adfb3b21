//! What a request handler knows about the request besides its body: the
//! request header and the session of the connection it arrived on.
//!
//! A [`Session`] is built once per connection (`connection.rs`) and lives as
//! long as it: the peer's address, the listener it came in on, the principal
//! it acts as, and the client software it announced (KIP-511). A
//! [`RequestContext`] is built per request and borrows the header and the
//! session; every handler in `api/` receives one (as Kafka's `KafkaApis`
//! receives a `RequestChannel.Request` carrying its `RequestContext`).
//!
//! Where later per-connection state goes:
//! * SASL (the security issue): the handshake's mechanism and the
//!   authenticator's progress become a field of [`Session`]; a successful
//!   SaslAuthenticate replaces [`Session::principal`]. TLS sets the principal
//!   from the client certificate when the connection is accepted.
//! * Fetch sessions (KIP-227): the broker-wide session cache lives with the
//!   replica manager, as in Kafka; what a connection needs to remember (the
//!   ids of the sessions it opened, for eviction) is a field of [`Session`].
//!
//! Handlers read the context through `&RequestContext`; the few that change
//! the session (ApiVersions records the client software; SASL will record
//! the principal) take `&mut RequestContext`.
//!
//! This module is not the authorizer (`authorizer/` answers what a
//! principal may do), not the socket handling (`connection.rs`), and not a
//! place for request-independent broker state (that is `Broker`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use kafka_protocol::messages::ApiKey;
use memorystreamer_protocol_kafka::request::Header;

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::error::BrokerError;
pub use crate::security::principal::KafkaPrincipal;

/// The client software a client announced in ApiVersions v3+ (KIP-511).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSoftware {
    /// `client_software_name`, e.g. `apache-kafka-java`.
    pub name: String,
    /// `client_software_version`, e.g. `4.1.0`.
    pub version: String,
}

/// One connection's state, shared by every request on it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The client's address (None only for requests that did not come from
    /// a socket, e.g. the fuzz harnesses).
    pub peer: Option<SocketAddr>,
    /// The name of the listener the connection came in on (`PLAINTEXT`; the
    /// listener name of `listeners`).
    pub listener: Arc<str>,
    /// Who the connection acts as: [`KafkaPrincipal::anonymous`] on
    /// PLAINTEXT, the certificate's mapped subject on SSL with a client
    /// certificate, the authenticated user on SASL listeners.
    pub principal: KafkaPrincipal,
    /// What the client announced in ApiVersions v3+ (KIP-511), once it did.
    pub client_software: Option<ClientSoftware>,
}

impl Session {
    /// The session of a new connection from `peer` on `listener`.
    pub fn new(peer: SocketAddr, listener: Arc<str>) -> Self {
        Session {
            peer: Some(peer),
            listener,
            ..Session::default()
        }
    }

    /// The client host as Kafka reports it in DescribeGroups ("/1.2.3.4").
    pub fn client_host(&self) -> String {
        self.peer
            .map(|p| format!("/{}", p.ip()))
            .unwrap_or_default()
    }
}

impl Default for Session {
    /// A session with no peer on an unnamed listener, acting as
    /// `User:ANONYMOUS`.
    fn default() -> Self {
        Session {
            peer: None,
            listener: Arc::from(""),
            principal: KafkaPrincipal::anonymous(),
            client_software: None,
        }
    }
}

/// One request's context: its header and its connection's session.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The request header as sent (API key, version, correlation id, client
    /// id).
    pub header: &'a Header,
    /// The connection's session. Mutable only through a `&mut
    /// RequestContext`, which only session-changing handlers receive.
    pub session: &'a mut Session,
}

impl<'a> RequestContext<'a> {
    /// The context of the request `header` on the connection of `session`.
    pub fn new(header: &'a Header, session: &'a mut Session) -> Self {
        RequestContext { header, session }
    }

    /// The API of the request.
    pub fn api_key(&self) -> ApiKey {
        self.header.api_key
    }

    /// The request's version.
    pub fn version(&self) -> i16 {
        self.header.version()
    }

    /// The correlation id the response echoes.
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id()
    }

    /// The client id of the header ("" when null).
    pub fn client_id(&self) -> &str {
        self.header.header.client_id.as_deref().unwrap_or("")
    }

    /// The error code of `e` in the response to this request (the one
    /// version-aware mapping, [`BrokerError::code_for_version`]).
    pub fn error_code(&self, e: &BrokerError) -> i16 {
        e.code_for_version(self.api_key(), self.version())
    }

    /// Whether this request's principal may do `operation` on the
    /// resource `resource_type` named `name`: always when no authorizer is
    /// configured (`authorizer.class.name` unset), as in Kafka.
    pub fn authorize(
        &self,
        broker: &Broker,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let Some(authorizer) = broker.security.authorizer() else {
            return true;
        };
        authorizer.authorize(
            self.session.principal.as_str(),
            self.host(),
            operation,
            resource_type,
            name,
        )
    }

    /// The client address the authorizer compares ACL hosts with.
    fn host(&self) -> IpAddr {
        self.session
            .peer
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip())
    }

    /// Whether this request's principal may do `operation` on at least one
    /// resource of `resource_type` (Kafka's `authorizeByResourceType`,
    /// [`crate::authorizer::Authorizer::authorize_by_resource_type`]):
    /// always without an authorizer.
    pub fn authorize_by_resource_type(
        &self,
        broker: &Broker,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        let Some(authorizer) = broker.security.authorizer() else {
            return true;
        };
        authorizer.authorize_by_resource_type(
            self.session.principal.as_str(),
            self.host(),
            operation,
            resource_type,
        )
    }

    /// The KIP-430 field for the resource `resource_type` named `name` when
    /// `requested`: the authorizer's bits
    /// ([`crate::authorizer::Authorizer::authorized_operations`]), or
    /// `without_authorizer()` when none is configured; else
    /// [`crate::authorizer::NOT_REQUESTED`].
    pub fn authorized_operations(
        &self,
        broker: &Broker,
        requested: bool,
        resource_type: ResourceType,
        name: &str,
        without_authorizer: fn() -> i32,
    ) -> i32 {
        if !requested {
            return crate::authorizer::NOT_REQUESTED;
        }
        match broker.security.authorizer() {
            Some(authorizer) => authorizer.authorized_operations(
                self.session.principal.as_str(),
                self.host(),
                resource_type,
                name,
            ),
            None => without_authorizer(),
        }
    }

    /// 0 for success, else [`Self::error_code`] of the error.
    pub fn result_code<T>(&self, r: &Result<T, BrokerError>) -> i16 {
        r.as_ref().err().map_or(0, |e| self.error_code(e))
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::RequestHeader;
    use kafka_protocol::ResponseError;

    use super::*;
    use crate::error::TxnError;

    fn code(api: ApiKey, version: i16, e: &BrokerError) -> i16 {
        let header = Header {
            api_key: api,
            header: RequestHeader::default().with_request_api_version(version),
        };
        let mut session = Session::default();
        RequestContext::new(&header, &mut session).error_code(e)
    }

    #[test]
    fn producer_fenced_is_invalid_producer_epoch_before_kip_588() {
        let fenced = BrokerError::Txn(TxnError::ProducerFenced);
        let old = ResponseError::InvalidProducerEpoch.code();
        let new = ResponseError::ProducerFenced.code();
        for (api, since) in [
            (ApiKey::InitProducerId, 4),
            (ApiKey::AddPartitionsToTxn, 2),
            (ApiKey::AddOffsetsToTxn, 2),
            (ApiKey::EndTxn, 2),
            (ApiKey::TxnOffsetCommit, 2),
        ] {
            assert_eq!(code(api, since - 1, &fenced), old, "{api:?} v{}", since - 1);
            assert_eq!(code(api, since, &fenced), new, "{api:?} v{since}");
        }
        // Broker-to-broker APIs always carry the new code.
        assert_eq!(code(ApiKey::WriteTxnMarkers, 1, &fenced), new);
        // Other errors do not depend on the version.
        let other = BrokerError::UnknownTopicOrPartition;
        assert_eq!(code(ApiKey::EndTxn, 0, &other), other.code());
    }

    #[test]
    fn sessions_start_anonymous() {
        let s = Session::new(
            "127.0.0.1:9092".parse().expect("addr"),
            Arc::from("PLAINTEXT"),
        );
        assert_eq!(s.principal.to_string(), "User:ANONYMOUS");
        assert_eq!(s.client_host(), "/127.0.0.1");
        assert_eq!(&*s.listener, "PLAINTEXT");
        assert!(s.client_software.is_none());
    }
}
