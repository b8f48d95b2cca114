//! The examples under `examples/`, run as their READMEs say.

mod defaults;
mod fan_out_analysis;
mod image_pipeline;
mod nested_retry;
mod pnm;
mod provisioning;
mod thumbnails;
