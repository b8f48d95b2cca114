//! plait bench
