//! Injected faults (`/_emulator/faults`, `lro/fail-next`, `lro/cancel-next`, `tokens/expire`) against the real
//! binary: each is either survived within bounds (transient 429/500/503, a delay, an expired token) or
//! reported with the ARM/Entra code and message and exit code 1 — never a panic, never a hang (every command
//! runs under a timeout), never a duplicated write (PUTs are counted in the request log).

use std::process::Output;
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, stderr};

/// Longer than the retry policy's worst case here (4 retries of 1 s `Retry-After`), far shorter than a hang.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(45);

fn run(cloud: &TestCloud, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = cloud
        .command()
        .timeout(COMMAND_TIMEOUT)
        .args(args)
        .output()
        .expect("aksctl runs");
    assert!(
        output.status.code().is_some() && started.elapsed() < COMMAND_TIMEOUT,
        "aksctl {} hung or was killed: {output:?}",
        args.join(" ")
    );
    assert_no_panic(args, &output);
    output
}

fn assert_no_panic(args: &[&str], output: &Output) {
    let text = stderr(output);
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "aksctl {} panicked:\n{text}",
        args.join(" ")
    );
    assert_ne!(output.status.code(), Some(101), "panic exit code");
}

fn group(cloud: &TestCloud, name: &str) {
    cloud.run_json(&["group", "create", "--name", name, "--location", "eastus"]);
}

fn create_args<'a>(group: &'a str, name: &'a str) -> Vec<&'a str> {
    vec!["aks", "create", "-g", group, "-n", name, "--no-ssh-key"]
}

fn fault(cloud: &TestCloud, rule: Value) -> Value {
    cloud.management("POST", "faults", Some(rule))[0].clone()
}

/// Request-log entries for `method` on paths ending with `suffix` (case-insensitive).
fn requests_to(cloud: &TestCloud, method: &str, suffix: &str) -> Vec<Value> {
    let suffix = suffix.to_ascii_lowercase();
    cloud
        .requests()
        .into_iter()
        .filter(|r| {
            r["method"] == method
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.to_ascii_lowercase().ends_with(&suffix))
        })
        .collect()
}

/// PUTs of a cluster that reached the emulated ARM (not faulted) and were accepted.
fn accepted_puts(cloud: &TestCloud, name: &str) -> usize {
    requests_to(cloud, "PUT", &format!("/managedClusters/{name}"))
        .iter()
        .filter(|r| r["fault"].is_null() && r["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}

fn token_requests(cloud: &TestCloud) -> usize {
    requests_to(cloud, "POST", "/oauth2/v2.0/token").len()
        + requests_to(cloud, "POST", "/oauth2/token").len()
}

#[test]
fn transient_429_500_503_on_the_cluster_put_are_retried_and_write_once() {
    let cloud = cloud();
    group(&cloud, "rg1");
    for (status, name) in [(429, "c429"), (500, "c500"), (503, "c503")] {
        cloud.clear_requests();
        let rule = fault(
            &cloud,
            json!({"method": "PUT", "path": "*/managedClusters/*", "times": 2, "status": status}),
        );
        let started = Instant::now();
        let output = run(&cloud, &create_args("rg1", name));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{status}: {}",
            stderr(&output)
        );
        let cluster: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(cluster["provisioningState"], "Succeeded");
        let puts = requests_to(&cloud, "PUT", &format!("/managedClusters/{name}"));
        assert_eq!(puts.len(), 3, "{status}: two faulted tries then one write");
        assert_eq!(
            puts.iter().filter(|r| r["fault"] == rule["id"]).count(),
            2,
            "{puts:?}"
        );
        assert_eq!(accepted_puts(&cloud, name), 1, "{status}: one write");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{status}: retried within bounds ({:?})",
            started.elapsed()
        );
    }
    // The faults are spent and reported as such.
    let rules = cloud.management("GET", "faults", None);
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["times"] == 0 && r["hits"] == 2),
        "{rules}"
    );
}

#[test]
fn persistent_503_is_reported_after_bounded_retries_with_the_arm_code() {
    let cloud = cloud();
    group(&cloud, "rg1");
    cloud.clear_requests();
    fault(
        &cloud,
        json!({"method": "GET", "path": "*/resourcegroups/rg1", "times": 100, "status": 503,
               "message": "The service is down for maintenance."}),
    );
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("(ServiceUnavailable)"), "{text}");
    assert!(
        text.contains("The service is down for maintenance."),
        "{text}"
    );
    let tries = requests_to(&cloud, "GET", "/resourcegroups/rg1").len();
    assert_eq!(tries, 5, "the first try and 4 retries, no more");
}

#[test]
fn a_409_operation_not_allowed_is_reported_at_once_and_nothing_is_written() {
    let cloud = cloud();
    group(&cloud, "rg1");
    cloud.clear_requests();
    fault(
        &cloud,
        json!({"method": "PUT", "path": "*/managedClusters/*", "status": 409}),
    );
    let output = run(&cloud, &create_args("rg1", "c1"));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("(OperationNotAllowed)"), "{text}");
    assert!(text.contains("in progress operation"), "{text}");
    assert_eq!(
        requests_to(&cloud, "PUT", "/managedClusters/c1").len(),
        1,
        "409 is not retried"
    );
    assert_eq!(accepted_puts(&cloud, "c1"), 0);
}

#[test]
fn a_delay_is_waited_out() {
    let cloud = cloud();
    group(&cloud, "rg1");
    cloud.clear_requests();
    let rule = fault(
        &cloud,
        json!({"method": "GET", "path": "*/resourcegroups/rg1", "delay_ms": 1500}),
    );
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let group: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(group["name"], "rg1");
    // The answer came from the one request, and that request was the delayed one: it was neither abandoned for
    // a timeout nor sent again.
    let reads = requests_to(&cloud, "GET", "/resourcegroups/rg1");
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["status"], 200, "{reads:?}");
    let rules = cloud.management("GET", "faults", None);
    assert_eq!(rules[0]["id"], rule["id"], "{rules}");
    assert_eq!(
        (&rules[0]["hits"], &rules[0]["times"]),
        (&json!(1), &json!(0)),
        "{rules}"
    );
}

#[test]
fn a_dropped_read_is_survived_or_reported_and_a_dropped_write_is_never_duplicated() {
    let cloud = cloud();
    group(&cloud, "rg1");
    // A read whose answer is cut off: retried (a GET is safe to repeat).
    fault(
        &cloud,
        json!({"method": "GET", "path": "*/resourcegroups/rg1", "drop": true}),
    );
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // A write whose answer is cut off is not sent again (it may have been applied): reported, naming the
    // request, and never written twice.
    cloud.clear_requests();
    fault(
        &cloud,
        json!({"method": "PUT", "path": "*/managedClusters/*", "drop": true}),
    );
    let output = run(&cloud, &create_args("rg1", "c1"));
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("ERROR: PUT ") && text.contains("managedClusters/c1"),
        "the error names the request: {text}"
    );
    assert_eq!(
        requests_to(&cloud, "PUT", "/managedClusters/c1").len(),
        1,
        "not retried"
    );
    assert!(accepted_puts(&cloud, "c1") <= 1, "{:?}", cloud.requests());

    // Persistent drops on reads end in an error naming the URL, not a hang.
    fault(
        &cloud,
        json!({"method": "GET", "path": "*/resourcegroups/rg1", "drop": true, "times": 100}),
    );
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("resourcegroups/rg1"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_lro_that_ends_failed_or_canceled_is_reported_with_its_code() {
    let cloud = cloud();
    group(&cloud, "rg1");
    cloud.management(
        "POST",
        "lro/fail-next",
        Some(json!({"code": "QuotaExceeded", "message": "Not enough cores in eastus."})),
    );
    let output = run(&cloud, &create_args("rg1", "failed"));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("QuotaExceeded"), "{text}");
    assert!(text.contains("Not enough cores in eastus."), "{text}");
    assert_eq!(accepted_puts(&cloud, "failed"), 1);

    cloud.management(
        "POST",
        "lro/cancel-next",
        Some(json!({"code": "OperationCanceled", "message": "The operation was canceled by a newer request."})),
    );
    let output = run(&cloud, &create_args("rg1", "canceled"));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("OperationCanceled"), "{text}");
    assert!(
        text.contains("The operation was canceled by a newer request."),
        "{text}"
    );
    let shown = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "canceled"]);
    assert_eq!(shown["provisioningState"], "Canceled");
    let shown = cloud.run_json(&["aks", "show", "-g", "rg1", "-n", "failed"]);
    assert_eq!(shown["provisioningState"], "Failed");
}

#[test]
fn an_expired_token_is_replaced_once_and_a_persistently_refused_one_is_reported() {
    let cloud = cloud();
    group(&cloud, "rg1");
    // The token is cached now: a second command signs in no more.
    cloud.clear_requests();
    cloud.run_json(&["group", "show", "-n", "rg1"]);
    assert_eq!(token_requests(&cloud), 0, "{:?}", cloud.requests());

    cloud.management("POST", "tokens/expire", Some(json!({"count": 1})));
    cloud.clear_requests();
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(token_requests(&cloud), 1, "a fresh token was fetched");
    assert_eq!(requests_to(&cloud, "GET", "/resourcegroups/rg1").len(), 2);

    cloud.management("POST", "tokens/expire", Some(json!({"count": 10})));
    let output = run(&cloud, &["group", "show", "-n", "rg1"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("(ExpiredAuthenticationToken)"), "{text}");
    assert!(text.contains("The access token has expired"), "{text}");
    cloud.management("DELETE", "faults", None);
}

#[test]
fn entra_faults_are_survived_or_reported_with_the_entra_error() {
    let cloud = cloud();
    // Transient 503 and 429 answers from the token endpoint on the first sign-in.
    cloud.clear_requests();
    fault(
        &cloud,
        json!({"method": "POST", "path": "*/oauth2/v2.0/token", "status": 503}),
    );
    fault(
        &cloud,
        json!({"method": "POST", "path": "*/oauth2/v2.0/token", "status": 429}),
    );
    let output = run(&cloud, &["group", "create", "-n", "rg1", "-l", "eastus"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(token_requests(&cloud), 3, "two refusals, then a token");

    // Persistent unavailability is reported with Entra's code, after bounded retries.
    let nonadmin = |cloud: &TestCloud, args: &[&str]| {
        let output = cloud
            .command()
            .timeout(COMMAND_TIMEOUT)
            .args(args)
            .env("AZURE_CLIENT_ID", &cloud.ready().nonadmin_client_id)
            .env("AZURE_CLIENT_SECRET", &cloud.ready().nonadmin_client_secret)
            .output()
            .unwrap();
        assert_no_panic(args, &output);
        output
    };
    cloud.clear_requests();
    fault(
        &cloud,
        json!({"method": "POST", "path": "*/oauth2/v2.0/token", "status": 503, "times": 50}),
    );
    let output = nonadmin(&cloud, &["group", "list"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("AADSTS90033"),
        "{}",
        stderr(&output)
    );
    let tries = token_requests(&cloud);
    assert!((2..=8).contains(&tries), "bounded retries: {tries}");
    cloud.management("DELETE", "faults", None);

    // A refusal from Entra is reported with its AADSTS line at once, as Entra writes it (the description goes on
    // after `\r\n` with trace and correlation ids, which only --debug shows); the secret is not echoed.
    fault(
        &cloud,
        json!({"method": "POST", "path": "*/oauth2/v2.0/token", "status": 401, "times": 2, "body": {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0e2f1c4a-trace\r\nCorrelation ID: 5b7d-correlation\r\nTimestamp: 2026-12-06 21:00:00Z",
            "error_codes": [7000215],
            "trace_id": "0e2f1c4a-trace",
            "correlation_id": "5b7d-correlation"
        }}),
    );
    cloud.clear_requests();
    let output = nonadmin(&cloud, &["group", "list"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("AADSTS7000215: Invalid client secret provided.\n"),
        "{text}"
    );
    assert!(
        !text.contains("Trace ID") && !text.contains("expected") && !text.contains("line 1 column"),
        "only Entra's line, no trace ids and no parser noise: {text}"
    );
    assert!(
        !text.contains(&cloud.ready().nonadmin_client_secret),
        "{text}"
    );
    assert_eq!(token_requests(&cloud), 1, "a refusal is not retried");
    let debug = nonadmin(&cloud, &["group", "list", "--debug"]);
    assert!(
        stderr(&debug).contains("Trace ID: 0e2f1c4a-trace"),
        "--debug keeps Entra's trace ids: {}",
        stderr(&debug)
    );
}

#[test]
fn fault_rules_are_validated_by_the_management_api() {
    let cloud = cloud();
    let rules = cloud.management(
        "POST",
        "faults",
        Some(json!([{"path": "*/a", "status": 500}, {"path": "*/b", "delay_ms": 5}])),
    );
    assert_eq!(rules.as_array().unwrap().len(), 2);
    assert_ne!(rules[0]["id"], rules[1]["id"]);
    let id = rules[0]["id"].as_u64().unwrap();
    cloud.management("DELETE", &format!("faults/{id}"), None);
    assert_eq!(
        cloud
            .management("GET", "faults", None)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    cloud.management("DELETE", "faults", None);
    assert_eq!(cloud.management("GET", "faults", None), json!([]));
}
