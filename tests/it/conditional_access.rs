//! Conditional Access and refused refresh tokens in kubelogin's user flows (issue #13 point 6), against the
//! emulator's switches (`PUT /_emulator/conditional-access`): each answer is Entra's `AADSTSnnnnn:` line plus the
//! next step that works, never a serde error, with trace ids only at klog verbosity; a refresh token that is
//! expired, revoked or lacks MFA leads to one new sign-in instead of a failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::{
    AKS_CLIENT_ID, SERVER_ID, claims, credential, kubelogin, token_requests, url_query,
};
use crate::kubelogin_interactive::Browser;
use crate::{cloud, stderr};

/// `get-token -l <mode>` for the AKS client in the emulator's tenant, caching in `<sandbox>/<cache>`.
fn start(cloud: &TestCloud, mode: &str, cache: &str, env: &[(&str, &str)]) -> Child {
    let mut command = kubelogin(cloud);
    command
        .args(["get-token", "-l", mode, "--server-id", SERVER_ID])
        .args(["--client-id", AKS_CLIENT_ID, "--tenant-id"])
        .arg(&cloud.ready().tenant_id)
        .arg("--cache-dir")
        .arg(cloud.dir().join(cache))
        .args(["--timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// Approve the device code `child` shows, then wait for it.
fn approve_device_code(cloud: &TestCloud, child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    let user_code = loop {
        let pending = cloud.management("GET", "devicecode", None);
        if let Some(code) = pending.as_array().and_then(|codes| codes.first()) {
            break code["user_code"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no device code started");
        std::thread::sleep(Duration::from_millis(50));
    };
    cloud.management(
        "POST",
        "devicecode/approve",
        Some(json!({"user_code": user_code})),
    );
    child.wait_with_output().unwrap()
}

fn switches(cloud: &TestCloud, value: Value) {
    cloud.management("PUT", "conditional-access", Some(value));
}

/// The cache entry (not its lock file) in `<sandbox>/<cache>`.
fn entry(cloud: &TestCloud, cache: &str) -> PathBuf {
    fs::read_dir(cloud.dir().join(cache))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("aksctl-token-") && name.ends_with(".json")
        })
        .expect("a cache entry")
}

/// Make the cached access token stale, so that the next get-token redeems the refresh token.
fn expire_access_token(path: &Path) {
    let mut entry: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    entry["expires_on"] = json!(1_000_000_000);
    fs::write(path, serde_json::to_vec(&entry).unwrap()).unwrap();
}

fn grants(cloud: &TestCloud) -> Vec<String> {
    token_requests(cloud)
        .iter()
        .map(|request| {
            let path = request["path"].as_str().unwrap_or_default();
            if path.ends_with("/authorize") || path.ends_with("/devicecode") {
                path.rsplit('/').next().unwrap().to_owned()
            } else {
                request["body"]["grant_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        })
        .collect()
}

/// No token, refresh token or code on stderr.
fn assert_no_secrets(text: &str) {
    for secret in ["eyJ", "refresh_token", "code="] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// An interactive sign-in, its access token made stale, the `switch` set, then get-token again (with the request
/// log cleared): its output.
fn browser_sign_in_then_switch(cloud: &TestCloud, browser: &Browser, switch: Value) -> Output {
    let program = browser.program();
    let env = [("BROWSER", program.as_str())];
    let get_token = || {
        start(cloud, "interactive", "browser", &env)
            .wait_with_output()
            .unwrap()
    };
    credential(&get_token());
    expire_access_token(&entry(cloud, "browser"));
    switches(cloud, switch);
    cloud.clear_requests();
    get_token()
}

/// A device-code sign-in, its access token made stale, the `switch` set, then get-token again (its device code
/// approved, with the request log cleared): its output.
fn device_sign_in_then_switch(cloud: &TestCloud, switch: Value) -> Output {
    credential(&approve_device_code(
        cloud,
        start(cloud, "devicecode", "device", &[]),
    ));
    expire_access_token(&entry(cloud, "device"));
    switches(cloud, switch);
    cloud.clear_requests();
    approve_device_code(cloud, start(cloud, "devicecode", "device", &[]))
}

#[test]
fn a_blocked_device_code_says_aadsts53003_and_points_at_the_browser_which_works() {
    let cloud = cloud();
    switches(&cloud, json!({"device_code_blocked": "all"}));
    let output = approve_device_code(&cloud, start(&cloud, "devicecode", "blocked", &[]));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("To sign in, use a web browser"),
        "{text}"
    );
    assert_eq!(
        &lines[1..],
        [
            "Error: failed to authenticate: AADSTS53003: Access has been blocked by Conditional Access policies. \
             The access policy does not allow token issuance.",
            "hint: device code sign-in is blocked by your organisation's Conditional Access policy; use `--login \
             interactive` (a browser) instead: `kubelogin convert-kubeconfig -l interactive` switches the kubeconfig",
        ]
    );
    assert!(!text.contains("Trace ID"), "{text}");
    assert_no_secrets(&text);
    let cached = fs::read_dir(cloud.dir().join("blocked"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count();
    assert_eq!(cached, 0, "nothing cached");

    // The trace and correlation ids are for klog verbosity only.
    let mut command = kubelogin(&cloud);
    command
        .args(["get-token", "-l", "devicecode", "--server-id", SERVER_ID])
        .args(["--client-id", AKS_CLIENT_ID, "--tenant-id"])
        .arg(&cloud.ready().tenant_id)
        .arg("--cache-dir")
        .arg(cloud.dir().join("blocked-verbose"))
        .args(["-v", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = approve_device_code(&cloud, command.spawn().unwrap());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("Trace ID: "), "{text}");
    assert_no_secrets(&text);

    // The next step works: the browser sign-in is not blocked.
    let browser = Browser::new(&cloud);
    let program = browser.program();
    let output = start(&cloud, "interactive", "blocked", &[("BROWSER", &program)])
        .wait_with_output()
        .unwrap();
    credential(&output);
}

#[test]
fn expired_or_revoked_refresh_tokens_lead_to_one_new_sign_in() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let output = device_sign_in_then_switch(&cloud, json!({"refresh_tokens_expired": "all"}));
    let value = credential(&output);
    assert_eq!(claims(&value)["upn"], ready.user_name.as_str());
    let text = stderr(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("AADSTS700082: The refresh token has expired due to inactivity."),
        "{text}"
    );
    assert_eq!(lines[1], "signing in again");
    assert!(
        lines[2].starts_with("To sign in, use a web browser"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert_no_secrets(&text);
    let sent = grants(&cloud);
    assert_eq!(sent[..2], ["refresh_token", "devicecode"], "{sent:?}");
    assert!(
        sent[2..]
            .iter()
            .all(|grant| grant == "urn:ietf:params:oauth:grant-type:device_code"),
        "one refresh, then one device-code sign-in polled until approved: {sent:?}"
    );
    // The new refresh token works: silent from here on.
    expire_access_token(&entry(&cloud, "device"));
    let output = start(&cloud, "devicecode", "device", &[])
        .wait_with_output()
        .unwrap();
    credential(&output);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    // Interactive, revoked: Entra's line, then one browser sign-in.
    switches(&cloud, json!({}));
    let browser = Browser::new(&cloud);
    let output = browser_sign_in_then_switch(
        &cloud,
        &browser,
        json!({"refresh_tokens_revoked": [ready.user_name]}),
    );
    credential(&output);
    let text = stderr(&output);
    assert!(
        text.starts_with(
            "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed."
        ),
        "{text}"
    );
    assert_eq!(text.lines().nth(1), Some("signing in again"), "{text}");
    assert_no_secrets(&text);
    assert_eq!(
        grants(&cloud),
        ["refresh_token", "authorize", "authorization_code"]
    );
    assert_eq!(browser.opened().len(), 2);
}

#[test]
fn mfa_required_on_refresh_retries_once_through_the_browser_with_the_claims_challenge() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let browser = Browser::new(&cloud);
    let output =
        browser_sign_in_then_switch(&cloud, &browser, json!({"mfa_required": [ready.user_name]}));
    let value = credential(&output);
    let token = claims(&value);
    assert_eq!(token["acrs"], json!(["c1"]), "{token}");
    let text = stderr(&output);
    assert!(text.starts_with("AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication"), "{text}");
    assert_eq!(
        text.lines().nth(1),
        Some("signing in again to satisfy the claims challenge"),
        "{text}"
    );
    assert_no_secrets(&text);
    assert_eq!(
        grants(&cloud),
        ["refresh_token", "authorize", "authorization_code"]
    );
    let opened = browser.opened();
    assert_eq!(opened.len(), 2);
    let challenge: Value = serde_json::from_str(&url_query(&opened[1])["claims"]).unwrap();
    assert_eq!(
        challenge,
        json!({"access_token": {"acrs": {"essential": true, "value": "c1"}}})
    );
    assert!(!url_query(&opened[0]).contains_key("claims"));
}

#[test]
fn mfa_required_on_refresh_in_devicecode_mode_signs_in_again_with_the_claims_challenge() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let output = device_sign_in_then_switch(&cloud, json!({"mfa_required": [ready.user_name]}));
    let token = claims(&credential(&output));
    assert_eq!(token["acrs"], json!(["c1"]), "{token}");
    let text = stderr(&output);
    assert_eq!(
        text.lines().nth(1),
        Some("signing in again to satisfy the claims challenge"),
        "{text}"
    );
    assert_no_secrets(&text);
    // MSAL's initiate_device_flow(claims_challenge=…): the challenge goes in the devicecode request and the polls.
    let expected = json!({"access_token": {"acrs": {"essential": true, "value": "c1"}}});
    let requests = token_requests(&cloud);
    let started: Vec<&Value> = requests
        .iter()
        .filter(|request| {
            request["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/devicecode")
        })
        .collect();
    assert_eq!(started.len(), 1);
    let sent: Value = serde_json::from_str(started[0]["body"]["claims"].as_str().unwrap()).unwrap();
    assert_eq!(sent, expected);
    assert!(
        requests
            .iter()
            .filter(|request| request["body"]["grant_type"]
                == "urn:ietf:params:oauth:grant-type:device_code")
            .all(|request| request["body"]["claims"].is_string())
    );
}
