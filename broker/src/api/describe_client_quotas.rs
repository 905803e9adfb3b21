//! DescribeClientQuotas (key 48), answered as Kafka 4.1's `KafkaApis` and
//! `ClientQuotasImage.describe` answer it for a cluster without quotas:
//! DESCRIBE_CONFIGS on the cluster, else CLUSTER_AUTHORIZATION_FAILED; the
//! filter checked with Kafka's messages; no entries. This broker stores and
//! enforces no client quotas (AlterClientQuotas is not served), so there is
//! never an entry to list. `kafka-configs --describe --entity-type users`
//! asks this before it lists the users' SCRAM credentials.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let fail = |e: ResponseError, text: &str| {
        DescribeClientQuotasResponse::default()
            .with_error_code(e.code())
            .with_error_message(Some(sb(text)))
            .with_entries(None)
    };
    if !ctx.authorize(
        broker,
        AclOperation::DescribeConfigs,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        return fail(
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        );
    }
    if let Err((e, text)) = check_filter(&req) {
        return fail(e, &text);
    }
    DescribeClientQuotasResponse::default()
        .with_error_message(None)
        .with_entries(Some(Vec::new()))
}

/// Kafka's checks of the filter (`ClientQuotasImage.describe`), in its
/// order and with its messages.
fn check_filter(req: &DescribeClientQuotasRequest) -> Result<(), (ResponseError, String)> {
    let invalid = |m: String| Err((ResponseError::InvalidRequest, m));
    let mut seen: HashSet<&str> = HashSet::new();
    for c in &req.components {
        let kind = c.entity_type.as_str();
        if kind.is_empty() {
            return invalid("Invalid empty entity type.".into());
        }
        if seen.contains(kind) {
            return invalid(format!(
                "Entity type {kind} cannot appear more than once in the filter."
            ));
        }
        if !matches!(kind, "user" | "client-id" | "ip") {
            return Err((
                ResponseError::UnsupportedVersion,
                format!("Unsupported entity type {kind}"),
            ));
        }
        match (c.match_type, c._match.is_some()) {
            (0, false) => {
                return invalid(
                    "Request specified MATCH_TYPE_EXACT, but set match string to null.".into(),
                )
            }
            (1, true) => {
                return invalid(
                    "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."
                        .into(),
                )
            }
            (2, true) => {
                return invalid(
                    "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."
                        .into(),
                )
            }
            (0..=2, _) => {}
            (other, _) => return invalid(format!("Unknown match type {other}")),
        }
        seen.insert(kind);
    }
    if seen.contains("ip") && (seen.contains("user") || seen.contains("client-id")) {
        return invalid(
            "Invalid entity filter component combination. IP filter component should not be \
             used with user or clientId filter component."
                .into(),
        );
    }
    Ok(())
}
