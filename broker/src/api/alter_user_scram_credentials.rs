//! AlterUserScramCredentials (key 51): adds and removes users' SCRAM
//! credentials (`Broker::alter_scram_credentials`), as Kafka 4.1's
//! controller answers (`ControllerApis` and `ScramControlManager`): ALTER
//! on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every user named
//! (one result per distinct user, by name); works with or without an
//! authorizer. The request's salts and salted passwords are never logged.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};

use super::create_acls::{check_cluster, message};
use super::sb;
use crate::authorizer::AclOperation;
use crate::broker::security_admin::ScramUpsertion;
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Kafka's `getErrorResponse`: one result per distinct user, sorted.
    let fail_all = |e: &BrokerError| {
        let users: BTreeSet<&str> = req
            .deletions
            .iter()
            .map(|d| d.name.as_str())
            .chain(req.upsertions.iter().map(|u| u.name.as_str()))
            .collect();
        AlterUserScramCredentialsResponse::default().with_results(
            users
                .into_iter()
                .map(|user| {
                    AlterUserScramCredentialsResult::default()
                        .with_user(sb(user))
                        .with_error_code(ctx.error_code(e))
                        .with_error_message(Some(sb(&message(e))))
                })
                .collect(),
        )
    };
    if let Err(e) = check_cluster(broker, ctx, AclOperation::Alter) {
        return fail_all(&e);
    }
    let deletions: Vec<(String, i8)> = req
        .deletions
        .iter()
        .map(|d| (d.name.to_string(), d.mechanism))
        .collect();
    let upsertions: Vec<ScramUpsertion> = req
        .upsertions
        .iter()
        .map(|u| ScramUpsertion {
            name: u.name.to_string(),
            mechanism: u.mechanism,
            iterations: u.iterations,
            salt: u.salt.to_vec(),
            salted_password: u.salted_password.to_vec(),
        })
        .collect();
    let results = match broker
        .alter_scram_credentials(&deletions, &upsertions)
        .await
    {
        Ok(results) => results,
        Err(e) => return fail_all(&e),
    };
    AlterUserScramCredentialsResponse::default().with_results(
        results
            .into_iter()
            .map(|(user, r)| {
                let result = AlterUserScramCredentialsResult::default().with_user(sb(&user));
                match r {
                    Ok(()) => result.with_error_message(None),
                    Err(e) => result
                        .with_error_code(ctx.error_code(&e))
                        .with_error_message(Some(sb(&message(&e)))),
                }
            })
            .collect(),
    )
}
