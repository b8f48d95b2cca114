//! plait engine
