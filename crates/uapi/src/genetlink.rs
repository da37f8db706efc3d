//! genetlink
