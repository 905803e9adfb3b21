//! The path other components reach topic configs by; they live in
//! [`crate::config::topic`] (parsing and validation) and
//! [`crate::config::registry`] (the table). Nothing is defined here.

pub use crate::config::topic::*;
