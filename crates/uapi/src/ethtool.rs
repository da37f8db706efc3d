//! ethtool
