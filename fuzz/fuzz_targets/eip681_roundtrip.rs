//! Any token, chain, recipient and amount: the URI built for the QR parses back to the same
//! request. Any text: the URI parser never panics.
#![no_main]
use alloy_primitives::{Address as Raw, U256};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stablepay_core::{address::Address, eip681::TransferRequest};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    token: [u8; 20],
    chain_id: u64,
    to: [u8; 20],
    amount: [u8; 32],
    text: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let request = TransferRequest {
        token: Address::from_alloy(Raw::from(input.token)),
        chain_id: input.chain_id,
        to: Address::from_alloy(Raw::from(input.to)),
        amount: U256::from_be_bytes(input.amount),
    };
    let uri = request.to_string();
    assert_eq!(TransferRequest::parse(&uri).expect("a built URI parses"), request, "{uri}");
    let _ = TransferRequest::parse(input.text);
});
