//! devmem
