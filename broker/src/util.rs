//! Small helpers shared by request handlers and coordinators (a leaf
//! module: it imports nothing from this crate).

use kafka_protocol::protocol::StrBytes;

/// The keys that occur more than once (Kafka answers a topic or partition
/// named twice in one request once, with INVALID_REQUEST).
pub fn repeated<K: std::hash::Hash + Eq>(
    keys: impl IntoIterator<Item = K>,
) -> std::collections::HashSet<K> {
    let mut seen = std::collections::HashSet::new();
    let mut twice = std::collections::HashSet::new();
    for k in keys {
        if let Some(k) = seen.replace(k) {
            twice.insert(k);
        }
    }
    twice
}

/// A `StrBytes` from a `&str`.
pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_keys_are_those_named_more_than_once() {
        let twice = super::repeated(["a", "b", "a", "c", "a", "b"]);
        assert_eq!(twice, ["a", "b"].into_iter().collect());
        assert!(super::repeated(["a", "b"]).is_empty());
    }
}
