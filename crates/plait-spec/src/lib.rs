//! plait spec
