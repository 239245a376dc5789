#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rhetor::fuzzing::read_as("a.jsonl", data));
