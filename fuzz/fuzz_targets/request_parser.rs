//! Request bytes → `Params` → every request parser and the signature check.
//! Nothing may panic; every refusal must be a documented `return_status`
//! with a reason; a message signed here must verify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmp_protocol::ops::{
    CLOSE_SERVICES, CloseRequest, QueryRequest, REFUND_SERVICES, RefundRequest, RefundStatusRequest,
};
use vmp_protocol::{Params, PreOrderRequest, ReturnStatus, sign};

const SECRET: &str = "fuzz-secret-0123456789abcdefghij";

/// The codes of README's "Return codes the gateway emits" table.
const README_CODES: [&str; 21] = [
    "00", "02", "03", "05", "09", "10", "12", "14", "15", "16", "18", "20", "22", "24", "31", "54", "-1", "-11", "-13",
    "-16", "-24",
];

fn refused(status: ReturnStatus, text: &str) {
    assert!(README_CODES.contains(&status.code()), "undocumented code {}: {text}", status.code());
    assert_ne!(status.code(), "00", "a refusal answered 00: {text}");
    assert!(!text.is_empty(), "refusal {} without a reason", status.code());
}

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::from_json(data) else {
        return;
    };
    let _ = sign::verify(SECRET, &params);

    if let Err(e) = PreOrderRequest::try_from(&params) {
        refused(e.return_status(), &e.to_string());
    }
    if let Err(e) = QueryRequest::try_from(&params) {
        refused(e.return_status(), &e.to_string());
    }
    if let Err(e) = RefundStatusRequest::try_from(&params) {
        refused(e.return_status(), &e.to_string());
    }
    for service in &REFUND_SERVICES {
        if let Err(e) = RefundRequest::parse(service, &params) {
            refused(e.return_status(), &e.to_string());
        }
    }
    for (_, wallets) in &CLOSE_SERVICES {
        if let Err(e) = CloseRequest::parse(wallets, &params) {
            refused(e.return_status(), &e.to_string());
        }
    }

    // Whatever was received can be signed, and then verifies.
    let mut signed = params;
    sign::sign_in_place(SECRET, &mut signed);
    assert_eq!(sign::verify(SECRET, &signed), Ok(()), "{}", signed.to_json());
});
