//! Any text: the address parser never panics, and an accepted address parses back from its EIP-55
//! form to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stablepay_core::address::Address;

fuzz_target!(|text: &str| {
    if let Ok(address) = Address::parse(text) {
        let again = Address::parse(&address.checksummed()).expect("the checksummed form parses");
        assert_eq!(again, address);
    }
});
