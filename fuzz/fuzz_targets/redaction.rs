#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| openai_admin::fuzzing::redaction(data));
