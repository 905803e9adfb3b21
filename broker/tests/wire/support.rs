//! Helpers shared by several files of the `wire` test binary (DescribeConfigs
//! of a topic and reading one value out of its answer). Helpers used by one
//! file stay in that file; those shared by every test binary live in
//! `tests/common/`.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::common::*;

pub fn describe_topic(
    c: &mut Client,
    topic: &str,
    keys: Option<Vec<&str>>,
) -> DescribeConfigsResponse {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configuration_keys(keys.map(|k| {
                    k.into_iter()
                        .map(|s| StrBytes::from_string(s.to_string()))
                        .collect()
                })),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

pub fn config_value(r: &DescribeConfigsResponse, key: &str) -> Option<(String, i8)> {
    r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .map(|c| {
            (
                c.value.as_deref().unwrap_or("").to_string(),
                c.config_source,
            )
        })
}
