#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| openai_federation_rules::fuzzing::cel_guard(data));
