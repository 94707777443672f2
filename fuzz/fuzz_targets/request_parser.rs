//! Request bytes → `Params` → the request parser of every endpoint and of
//! every served `service`, and the signature check. Nothing may panic; every
//! refusal must be a documented `return_status` with a reason; a request
//! that parses must encode back to the same request; a message signed here
//! must verify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vmp_protocol::catalogue::{Endpoint, Service};
use vmp_protocol::request::{Request, check_envelope};
use vmp_protocol::{Params, ReturnStatus, sign};

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

fn judge(endpoint: Endpoint, params: &Params) {
    match check_envelope(params).and_then(|()| Request::parse(endpoint, params)) {
        Err(e) => refused(e.return_status(), &e.return_char()),
        Ok(request) => {
            let again = Request::parse(request.endpoint(), &request.to_params());
            assert_eq!(again.as_ref(), Ok(&request), "{}", params.to_json());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::from_json(data) else {
        return;
    };
    let _ = sign::verify(SECRET, &params);

    for endpoint in Endpoint::ALL {
        judge(*endpoint, &params);
    }
    // The same fields under every served service of JSAPIService.do.
    for service in Service::ALL.iter().filter(|s| s.spec().is_ready()) {
        if let Some(name) = service.spec().name {
            let mut p = params.clone();
            p.set("service", name);
            judge(Endpoint::JsapiService, &p);
        }
    }

    // Whatever was received can be signed, and then verifies.
    let mut signed = params;
    sign::sign_in_place(SECRET, &mut signed);
    assert_eq!(sign::verify(SECRET, &signed), Ok(()), "{}", signed.to_json());
});
