//! The table of supported API version ranges, and the ApiVersions answer
//! built from it.
//!
//! The broker owns the table (it is the list of APIs it has handlers for);
//! this module only stores and renders it, so that the request decoder and
//! the ApiVersions response cannot disagree.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// Supported versions of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    /// The API.
    pub api_key: ApiKey,
    /// Oldest version accepted.
    pub min: i16,
    /// Newest version accepted.
    pub max: i16,
}

/// The broker's supported APIs, indexed by API key.
#[derive(Debug, Clone)]
pub struct ApiTable {
    ranges: Vec<ApiRange>,
}

impl ApiTable {
    /// Builds a table; ranges are sorted by API key.
    pub fn new(mut ranges: Vec<ApiRange>) -> Self {
        ranges.sort_by_key(|r| r.api_key as i16);
        ApiTable { ranges }
    }

    /// The supported range of `api_key`, if it is supported at all.
    pub fn range(&self, api_key: ApiKey) -> Option<ApiRange> {
        self.ranges.iter().find(|r| r.api_key == api_key).copied()
    }

    /// All ranges, sorted by API key.
    pub fn ranges(&self) -> &[ApiRange] {
        &self.ranges
    }

    /// An ApiVersions response listing every supported API with `error_code`.
    pub fn api_versions_response(&self, error_code: i16) -> ApiVersionsResponse {
        let api_keys = self
            .ranges
            .iter()
            .map(|r| {
                ApiVersion::default()
                    .with_api_key(r.api_key as i16)
                    .with_min_version(r.min)
                    .with_max_version(r.max)
            })
            .collect();
        ApiVersionsResponse::default()
            .with_error_code(error_code)
            .with_api_keys(api_keys)
    }
}
