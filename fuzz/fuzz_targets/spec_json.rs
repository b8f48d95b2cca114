//! A JSON workflow file, through `plait_spec::load_str`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use plait_spec::Format;

fuzz_target!(|data: &[u8]| plait_fuzz::check_load(data, Format::Json));
