//! udmabuf
