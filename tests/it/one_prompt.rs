//! One sign-in prompt for many processes (issue #13 point 5): 50 real kubectl processes started at once on a
//! 127.0.0.1 kubeconfig converted to `-l devicecode` or `-l interactive`, with a cold token cache, start exactly
//! one sign-in (the others wait on the cache entry's lock, then take its token) and all succeed. A holder that
//! dies releases the lock at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::{
    AKS_CLIENT_ID, SERVER_ID, cluster_kubeconfig, convert, kubectl, kubelogin, stdout,
};
use crate::kubelogin_interactive::Browser;
use crate::{cloud, stderr};

const PROCESSES: usize = 50;

/// Start `PROCESSES` `kubectl get nodes` at once.
fn start_kubectls(cloud: &TestCloud, kubeconfig: &Path, env: &[(&str, &str)]) -> Vec<Child> {
    (0..PROCESSES)
        .map(|_| {
            let mut command = kubectl(cloud, kubeconfig);
            command
                .args(["get", "nodes", "--request-timeout", "120s"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for (name, value) in env {
                command.env(name, value);
            }
            command.spawn().expect("kubectl starts")
        })
        .collect()
}

fn pending_codes(cloud: &TestCloud) -> Vec<Value> {
    cloud
        .management("GET", "devicecode", None)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn requests_to(cloud: &TestCloud, suffix: &str) -> usize {
    cloud
        .requests()
        .iter()
        .filter(|request| {
            request["path"]
                .as_str()
                .is_some_and(|path| path.ends_with(suffix))
        })
        .count()
}

/// Every kubectl listed the nodes; no token reached stderr.
fn assert_all_listed_nodes(outputs: &[Output]) {
    for output in outputs {
        assert!(
            output.status.success(),
            "kubectl exited {:?}: {}",
            output.status.code(),
            stderr(output)
        );
        assert!(
            stdout(output).contains("aks-nodepool1-"),
            "{}",
            stdout(output)
        );
        assert!(!stderr(output).contains("eyJ"), "{}", stderr(output));
    }
}

fn wait_all(children: Vec<Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

#[test]
fn fifty_cold_kubectl_in_devicecode_mode_start_one_device_code() {
    let cloud = cloud();
    let kubeconfig = cluster_kubeconfig(&cloud, "onecode", "exec");
    convert(&cloud, &kubeconfig, &["-l", "devicecode"]);
    cloud.clear_requests();

    let mut children = start_kubectls(&cloud, &kubeconfig, &[]);
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut seen = BTreeSet::new();
    let mut approved = false;
    let mut most_pending = 0;
    loop {
        let pending = pending_codes(&cloud);
        most_pending = most_pending.max(pending.len());
        for code in &pending {
            let user_code = code["user_code"].as_str().unwrap().to_owned();
            if seen.insert(user_code.clone()) && !approved {
                // Let the other 49 pile up on the lock for a moment before approving.
                std::thread::sleep(Duration::from_millis(500));
                cloud.management(
                    "POST",
                    "devicecode/approve",
                    Some(json!({"user_code": user_code})),
                );
                approved = true;
            }
        }
        let running = children
            .iter_mut()
            .map(|child| child.try_wait().unwrap())
            .filter(Option::is_none)
            .count();
        if running == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{running} kubectl still running");
        std::thread::sleep(Duration::from_millis(50));
    }
    let outputs = wait_all(children);
    assert_all_listed_nodes(&outputs);
    assert_eq!(most_pending, 1, "at most one pending device code at a time");
    assert_eq!(seen.len(), 1, "one device code in all: {seen:?}");
    assert_eq!(requests_to(&cloud, "/oauth2/v2.0/devicecode"), 1);
    let prompted: Vec<&Output> = outputs
        .iter()
        .filter(|output| stderr(output).contains("To sign in, use a web browser"))
        .collect();
    assert_eq!(prompted.len(), 1, "one process showed the prompt");
}

#[test]
fn fifty_cold_kubectl_in_interactive_mode_open_one_browser() {
    let cloud = cloud();
    let browser = Browser::new(&cloud);
    let kubeconfig = cluster_kubeconfig(&cloud, "onebrowser", "exec");
    convert(&cloud, &kubeconfig, &["-l", "interactive"]);
    cloud.clear_requests();

    let program = browser.program();
    let children = start_kubectls(&cloud, &kubeconfig, &[("BROWSER", &program)]);
    let outputs = wait_all(children);
    assert_all_listed_nodes(&outputs);
    assert_eq!(
        requests_to(&cloud, "/oauth2/v2.0/authorize"),
        1,
        "exactly one /authorize"
    );
    assert_eq!(browser.opened().len(), 1, "the browser opened once");
    let codes = cloud
        .requests()
        .iter()
        .filter(|request| request["body"]["grant_type"] == "authorization_code")
        .count();
    assert_eq!(codes, 1, "one code redeemed");
}

#[test]
fn a_killed_sign_in_releases_the_lock_and_a_waiter_times_out_clearly() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let cache = cloud.dir().join("locked-cache");
    let get_token = |timeout: &str| {
        let mut command = kubelogin(&cloud);
        command
            .args(["get-token", "-l", "devicecode", "--server-id", SERVER_ID])
            .args(["--client-id", AKS_CLIENT_ID, "--tenant-id"])
            .arg(&ready.tenant_id)
            .arg("--cache-dir")
            .arg(&cache)
            .args(["--timeout", timeout])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    // The user codes pending now, waiting up to 20 s for one besides `known`.
    let wait_for_new_code = |known: &BTreeSet<String>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let fresh: Vec<String> = pending_codes(&cloud)
                .iter()
                .map(|code| code["user_code"].as_str().unwrap().to_owned())
                .filter(|code| !known.contains(code))
                .collect();
            if !fresh.is_empty() {
                return fresh;
            }
            assert!(Instant::now() < deadline, "no new device code started");
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    let mut holder = get_token("60s");
    let first = wait_for_new_code(&BTreeSet::new());
    assert_eq!(first.len(), 1);

    // A second process waits on the lock until its own --timeout, then says what it waited for.
    let waiter = get_token("2s").wait_with_output().unwrap();
    assert_eq!(waiter.status.code(), Some(1));
    let text = stderr(&waiter);
    assert!(
        text.starts_with(
            "Error: failed to authenticate: context deadline exceeded (timed out after "
        ),
        "{text}"
    );
    assert!(
        text.contains("s waiting for another process signing in (it holds "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.trim_end().ends_with(".json.lock))"), "{text}");
    assert_eq!(
        pending_codes(&cloud).len(),
        1,
        "the waiter started no sign-in"
    );

    // The holder dies mid sign-in: the next process gets the lock at once and starts its own sign-in.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let next = get_token("60s");
    let second = wait_for_new_code(&first.into_iter().collect());
    assert_eq!(second.len(), 1);
    cloud.management(
        "POST",
        "devicecode/approve",
        Some(json!({"user_code": second[0]})),
    );
    let output = next.wait_with_output().unwrap();
    crate::kubelogin::credential(&output);
}
