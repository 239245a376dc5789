#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rhetor::fuzzing::decoding(data));
