//! simkernel
