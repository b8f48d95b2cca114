//! plait process
