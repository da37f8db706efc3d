//! rtnetlink
