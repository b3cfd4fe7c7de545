//! kubelogin `-l interactive` end to end: the real binary (as `kubelogin`) opens `$BROWSER` on the emulator's
//! `/authorize`, a scripted "browser" (sh + curl, trusting only the emulator CA) follows the 302 to the loopback
//! listener, and the code is redeemed with PKCE
//! (docs/entra-protocols.md, "Authorization code with PKCE on a loopback redirect"). Then the token cache and the
//! refresh token without a browser, a declined sign-in, and kubectl with an interactive exec kubeconfig (sandboxed
//! HOME and KUBECACHEDIR, 127.0.0.1 servers only).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::{
    AKS_CLIENT_ID, SERVER_ID, claims, cluster_kubeconfig, convert, credential, exec_args,
    get_token, kubectl, run, stdout, token_requests, url_query,
};
use crate::{cloud, stderr};

/// A scripted browser in the sandbox: it GETs the authorize URL from the emulator and follows the answer's 302
/// only to a loopback `http` listener, recording what it saw (the code itself replaced by `REDACTED`).
pub(crate) struct Browser {
    dir: PathBuf,
}

impl Browser {
    pub(crate) fn new(cloud: &TestCloud) -> Browser {
        let dir = cloud.dir().join("browser");
        fs::create_dir_all(&dir).unwrap();
        let script = format!(
            r#"#!/bin/sh
printf '%s\n' "$1" >> '{dir}/opened'
location=$(/usr/bin/curl -sS --noproxy '*' --cacert '{ca}' -o /dev/null -w '%{{redirect_url}}' "$1") || exit 1
printf '%s\n' "$location" | sed 's/\([?&]code=\)[^&]*/\1REDACTED/' >> '{dir}/redirects'
case "$location" in
  http://localhost:*|http://127.0.0.1:*) /usr/bin/curl -sS --noproxy '*' -o '{dir}/page' "$location" ;;
  *) echo "not a loopback redirect" > '{dir}/page' ;;
esac
touch '{dir}/done'
"#,
            dir = dir.display(),
            ca = cloud.ready().ca_cert_file,
        );
        let path = dir.join("browser.sh");
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        Browser { dir }
    }

    pub(crate) fn program(&self) -> String {
        self.dir.join("browser.sh").to_str().unwrap().to_owned()
    }

    fn lines(&self, name: &str) -> Vec<String> {
        fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The URLs the browser was opened with.
    pub(crate) fn opened(&self) -> Vec<String> {
        self.lines("opened")
    }

    /// Wait until the browser has shown the loopback listener's page; returns it.
    fn page(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.dir.join("done").exists() {
            assert!(Instant::now() < deadline, "the browser never finished");
            std::thread::sleep(Duration::from_millis(20));
        }
        let page = fs::read_to_string(self.dir.join("page")).unwrap_or_default();
        fs::remove_file(self.dir.join("done")).unwrap();
        page
    }
}

/// `get-token -l interactive` for the AKS client in the emulator's tenant with `BROWSER` set.
fn interactive(cloud: &TestCloud, browser: &Browser, extra: &[&str]) -> std::process::Output {
    let tenant = cloud.ready().tenant_id.clone();
    let mut args = vec![
        "-l",
        "interactive",
        "--client-id",
        AKS_CLIENT_ID,
        "--tenant-id",
        &tenant,
        "--timeout",
        "30s",
    ];
    args.extend_from_slice(extra);
    get_token(
        cloud,
        "interactive-cache",
        &args,
        &[("BROWSER", &browser.program())],
    )
}

fn paths(requests: &[Value]) -> Vec<(String, String, u64)> {
    requests
        .iter()
        .map(|request| {
            let path = request["path"].as_str().unwrap_or_default();
            let kind = if path.ends_with("/authorize") {
                "authorize".to_owned()
            } else {
                request["body"]["grant_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                request["method"].as_str().unwrap_or_default().to_owned(),
                kind,
                request["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn entry(cache: &Path) -> PathBuf {
    fs::read_dir(cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("aksctl-token-")
                && path
                    .extension()
                    .is_some_and(|extension| extension == "json")
        })
        .expect("a cache entry")
}

#[test]
fn interactive_signs_in_through_the_emulator_then_uses_the_cache_and_refresh_token() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let browser = Browser::new(&cloud);
    cloud.clear_requests();

    // With klog's highest verbosity, to show the debug logs keep the secrets out.
    let output = interactive(&cloud, &browser, &["-v", "10"]);
    let value = credential(&output);
    let token = claims(&value);
    assert_eq!(token["aud"], SERVER_ID);
    assert_eq!(token["upn"], ready.user_name.as_str());
    assert_eq!(token["appid"], AKS_CLIENT_ID);
    assert_eq!(token["idtyp"], "user");
    assert_eq!(token["tid"], ready.tenant_id.as_str());
    assert!(
        token["groups"]
            .as_array()
            .unwrap()
            .contains(&json!(ready.admin_group_id)),
        "{token}"
    );

    // The browser was opened once, on the emulator's authorize endpoint with PKCE, and came back to the listener.
    let opened = browser.opened();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(
        opened[0].starts_with(&format!(
            "{}{}/oauth2/v2.0/authorize?",
            ready.authority_host, ready.tenant_id
        )),
        "{}",
        opened[0]
    );
    let query = url_query(&opened[0]);
    assert_eq!(query["client_id"], AKS_CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["prompt"], "select_account");
    assert!(query["redirect_uri"].starts_with("http://localhost:"));
    assert!(
        stderr(&output).contains(&opened[0]),
        "the URL is shown too: {}",
        stderr(&output)
    );
    assert!(browser.page().contains("Authentication complete"));
    let redirects = browser.lines("redirects");
    assert_eq!(
        redirects,
        [format!(
            "{}/?code=REDACTED&state={}&session_state={}",
            query["redirect_uri"],
            query["state"],
            url_query(&redirects[0])["session_state"]
        )]
    );
    let issued = token_requests(&cloud);
    assert_eq!(
        paths(&issued),
        [
            ("GET".to_owned(), "authorize".to_owned(), 302),
            ("POST".to_owned(), "authorization_code".to_owned(), 200),
        ]
    );
    // Neither the code nor the verifier was logged by the emulator, nor printed by kubelogin.
    assert_eq!(issued[1]["body"]["code"], "REDACTED");
    assert_eq!(issued[1]["body"]["code_verifier"], "REDACTED");
    assert_eq!(
        issued[1]["body"]["redirect_uri"],
        query["redirect_uri"].as_str()
    );
    let logs = stderr(&output);
    assert!(logs.contains("DEBUG"), "debug logs are on: {logs}");
    for secret in [
        "code=",
        "1.AQ",
        "code_verifier",
        value["status"]["token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }

    // The token and its refresh token are cached: a second call opens no browser and sends nothing.
    let cache = cloud.dir().join("interactive-cache");
    let mut cached: Value = serde_json::from_slice(&fs::read(entry(&cache)).unwrap()).unwrap();
    let refresh_token = cached["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    assert!(!logs.contains(&refresh_token));
    cloud.clear_requests();
    let output = interactive(&cloud, &browser, &[]);
    assert_eq!(
        credential(&output)["status"]["token"],
        value["status"]["token"]
    );
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert!(cloud.requests().is_empty());
    assert_eq!(browser.opened().len(), 1);

    // An access token near expiry is renewed with the refresh token, still without a browser.
    cached["expires_on"] = json!(1_000_000_000);
    fs::write(entry(&cache), serde_json::to_vec(&cached).unwrap()).unwrap();
    let output = interactive(&cloud, &browser, &[]);
    let renewed = credential(&output);
    assert_eq!(claims(&renewed)["upn"], ready.user_name.as_str());
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(
        paths(&token_requests(&cloud)),
        [("POST".to_owned(), "refresh_token".to_owned(), 200)]
    );
    assert_eq!(browser.opened().len(), 1);
}

#[test]
fn a_declined_or_unknown_user_sign_in_fails_with_exit_1_and_entras_reason() {
    let cloud = cloud();
    let browser = Browser::new(&cloud);

    // The user cancels at the sign-in page.
    cloud.management("POST", "authorize/decline", None);
    cloud.clear_requests();
    let output = interactive(&cloud, &browser, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let text = stderr(&output);
    assert!(
        text.contains(
            "Error: failed to authenticate: interactive sign-in: access_denied (cancel): AADSTS65004: User declined to consent to access the app."
        ),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    let page = browser.page();
    assert!(page.contains("Authentication failed"), "{page}");
    assert!(page.contains("AADSTS65004"), "{page}");
    // Nothing to redeem, nothing cached.
    assert_eq!(
        paths(&token_requests(&cloud)),
        [("GET".to_owned(), "authorize".to_owned(), 302)]
    );
    let cache = cloud.dir().join("interactive-cache");
    let cached = fs::read_dir(&cache)
        .map(|entries| {
            entries
                .filter(|entry| {
                    let name = entry.as_ref().unwrap().file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("aksctl-token-") && name.ends_with(".json")
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(cached, 0, "no token is cached");

    // A login hint naming nobody in the directory.
    let output = interactive(&cloud, &browser, &["--login-hint", "nobody@emulator.local"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "access_denied: AADSTS50034: The user account nobody@emulator.local does not exist"
        ),
        "{}",
        stderr(&output)
    );
    browser.page();

    // The next sign-in is approved again (the decline was used up), here on a `--redirect-url` with a path and
    // the port left to the system, for the hinted user.
    let user_name = cloud.ready().user_name.clone();
    let output = interactive(
        &cloud,
        &browser,
        &[
            "--redirect-url",
            "http://127.0.0.1:0/kubelogin",
            "--login-hint",
            &user_name,
        ],
    );
    assert_eq!(claims(&credential(&output))["upn"], user_name.as_str());
    assert!(browser.page().contains("Authentication complete"));
    let redirect = browser.lines("redirects").pop().unwrap();
    assert!(
        redirect.starts_with("http://127.0.0.1:")
            && redirect.contains("/kubelogin?code=REDACTED&state="),
        "{redirect}"
    );
    let opened = url_query(browser.opened().last().unwrap());
    assert_eq!(opened["login_hint"], user_name);
    assert!(!opened.contains_key("prompt"));
}

#[test]
fn kubectl_get_nodes_with_an_interactive_exec_kubeconfig_opens_the_browser_once() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let browser = Browser::new(&cloud);
    let kubeconfig = cluster_kubeconfig(&cloud, "aksint", "exec");
    convert(&cloud, &kubeconfig, &["-l", "interactive"]);
    assert_eq!(
        exec_args(&kubeconfig),
        [
            "get-token",
            "--login",
            "interactive",
            "--server-id",
            SERVER_ID,
            "--client-id",
            AKS_CLIENT_ID,
            "--tenant-id",
            &ready.tenant_id,
            "--environment",
            "AzurePublicCloud"
        ]
    );
    let server = fs::read_to_string(&kubeconfig).unwrap();
    assert!(server.contains("server: https://127.0.0.1:"), "{server}");

    cloud.clear_requests();
    let get_nodes = || {
        let mut command = kubectl(&cloud, &kubeconfig);
        command
            .args(["get", "nodes"])
            .env("BROWSER", browser.program());
        run(command)
    };
    let output = get_nodes();
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(
        stdout(&output).contains("aks-nodepool1-"),
        "{}",
        stdout(&output)
    );
    assert!(browser.page().contains("Authentication complete"));
    assert_eq!(
        paths(&token_requests(&cloud)),
        [
            ("GET".to_owned(), "authorize".to_owned(), 302),
            ("POST".to_owned(), "authorization_code".to_owned(), 200),
        ],
        "one sign-in for the whole kubectl run"
    );

    // The second kubectl run takes the cached token: no browser, no Entra request.
    cloud.clear_requests();
    let output = get_nodes();
    assert!(output.status.success(), "kubectl: {}", stderr(&output));
    assert!(token_requests(&cloud).is_empty());
    assert_eq!(browser.opened().len(), 1);
}
