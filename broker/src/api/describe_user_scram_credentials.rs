//! DescribeUserScramCredentials (key 50): each user's SCRAM mechanisms and
//! iteration counts (`Broker::describe_scram_credentials`; never salts or
//! keys), as Kafka 4.1's `KafkaApis` and `ScramImage.describe` answer:
//! DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED at the top
//! and on one nameless result per requested user (Kafka's
//! `getErrorResponse`); works with or without an authorizer.

use std::sync::Arc;

use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::ResponseError;

use super::create_acls::message;
use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    if !ctx.authorize(
        broker,
        AclOperation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        // `Errors.CLUSTER_AUTHORIZATION_FAILED.exception`: the default text.
        let e = ResponseError::ClusterAuthorizationFailed;
        let text = "Cluster authorization failed.";
        let requested = req.users.as_ref().map_or(0, Vec::len);
        let result = DescribeUserScramCredentialsResult::default()
            .with_error_code(e.code())
            .with_error_message(Some(sb(text)));
        return DescribeUserScramCredentialsResponse::default()
            .with_error_code(e.code())
            .with_error_message(Some(sb(text)))
            .with_results(vec![result; requested]);
    }
    let names: Option<Vec<String>> = req
        .users
        .as_ref()
        .map(|us| us.iter().map(|u| u.name.to_string()).collect());
    let results = broker.describe_scram_credentials(names.as_deref());
    DescribeUserScramCredentialsResponse::default()
        .with_error_message(None)
        .with_results(
            results
                .into_iter()
                .map(|(user, r)| {
                    let result = DescribeUserScramCredentialsResult::default().with_user(sb(&user));
                    match r {
                        Ok(infos) => result.with_error_message(None).with_credential_infos(
                            infos
                                .into_iter()
                                .map(|(mechanism, iterations)| {
                                    CredentialInfo::default()
                                        .with_mechanism(mechanism)
                                        .with_iterations(iterations)
                                })
                                .collect(),
                        ),
                        Err(e) => result
                            .with_error_code(ctx.error_code(&e))
                            .with_error_message(Some(sb(&message(&e)))),
                    }
                })
                .collect(),
        )
}
