//! plait cli
