#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tfplugin::codec::fuzzing::decode_value(data));
