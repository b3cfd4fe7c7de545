//! kubectl's `KUBERNETES_EXEC_INFO` (what `kubelogin get-token` reads to pick the ExecCredential apiVersion) and
//! the ExecCredential it then prints: any text is accepted or refused cleanly, and an accepted version always
//! yields a JSON ExecCredential of that version.
#![no_main]

use aks_kubeconfig::{ExecCredential, parse_exec_info};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(version) = parse_exec_info(Some(text)) else {
        return;
    };
    let credential = ExecCredential {
        api_version: version,
        token: text.to_owned(),
        expiration: None,
    };
    let json = credential.to_json_line();
    let value: serde_json::Value = serde_json::from_str(&json).expect("ExecCredential JSON parses");
    assert_eq!(value["apiVersion"], version.as_str());
    // Go's `omitempty`: an empty token is left out.
    if text.is_empty() {
        assert!(value["status"].get("token").is_none());
    } else {
        assert_eq!(value["status"]["token"], text, "Go-style escaping lost the token");
    }
});
