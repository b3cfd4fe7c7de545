//! `aksctl login`, `logout` and `account …` end to end: the real binary signs people in at the emulator (device
//! code approved through the management API, a browser stand-in following `/authorize` to the loopback
//! listener, a redirect URL pasted on stdin) and service principals, into az's own files in the sandbox's
//! `~/.azure`; then every command reads that login natively, and `logout`/`account clear` change the files as az
//! does.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::kubelogin::{SERVER_ID, claims, credential, kubelogin, run, token_requests};
use crate::{cloud, stderr};

/// az's public client id, which every user token az (and aksctl login) stores carries.
const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// az's configuration directory of the sandbox (`$HOME/.azure`).
fn azure_dir(cloud: &TestCloud) -> PathBuf {
    cloud.home().join(".azure")
}

/// `aksctl …` with no environment service principal, so the login shared with az is what signs in.
fn as_person(cloud: &TestCloud) -> Command {
    let mut command = cloud.std_command();
    for variable in ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"] {
        command.env_remove(variable);
    }
    command.stdin(Stdio::null());
    command
}

pub(crate) fn person(cloud: &TestCloud, args: &[&str]) -> Output {
    let mut command = as_person(cloud);
    command.args(args);
    run(command)
}

fn person_json(cloud: &TestCloud, args: &[&str]) -> Value {
    let output = person(cloud, args);
    assert!(
        output.status.success(),
        "aksctl {args:?} failed: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The claims of a JWT.
pub(crate) fn jwt_claims(token: &str) -> Value {
    claims(&json!({"status": {"token": token}}))
}

/// The test's service principal signs in (`login --service-principal`), as a person would with az.
pub(crate) fn login_service_principal(cloud: &TestCloud) -> Value {
    let output = login_service_principal_with(cloud, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `login --service-principal` as the seeded principal, with `extra` flags.
fn login_service_principal_with(cloud: &TestCloud, extra: &[&str]) -> Output {
    let ready = cloud.ready();
    let mut args = vec![
        "login",
        "--service-principal",
        "-u",
        &ready.client_id,
        "-p",
        &ready.client_secret,
        "--tenant",
        &ready.tenant_id,
    ];
    args.extend_from_slice(extra);
    person(cloud, &args)
}

/// Whether the emulator was asked for a managed identity's token on App Service's endpoint.
fn used_app_service_endpoint(cloud: &TestCloud) -> bool {
    cloud
        .requests()
        .iter()
        .any(|request| request["path"] == "/msi/token")
}

/// Read the child's stderr until a line contains `marker`; returns everything read so far, and the rest of the
/// lines to come.
fn stderr_until(child: &mut Child, marker: &str) -> (String, std::sync::mpsc::Receiver<String>) {
    let stream = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(100)) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(marker) {
                return (seen, receiver);
            }
        }
    }
    panic!("no {marker:?} on stderr: {seen}");
}

/// `login --use-device-code`, approved for `user` (`None`: declined) through the management API; the finished
/// output.
pub(crate) fn device_code_login(
    cloud: &TestCloud,
    user: Option<&str>,
    extra: &[&str],
) -> (Output, String) {
    let mut command = as_person(cloud);
    command.args(["login", "--use-device-code"]).args(extra);
    complete_device_code(cloud, command, user)
}

/// Run a login that shows a device code, and approve (or decline) it.
fn complete_device_code(
    cloud: &TestCloud,
    mut command: Command,
    user: Option<&str>,
) -> (Output, String) {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let (message, rest) = stderr_until(&mut child, "enter the code");
    let code = message
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let pending = cloud.management("GET", "devicecode", None);
    assert_eq!(pending[0]["client_id"], AZURE_CLI_CLIENT_ID, "{pending}");
    match user {
        Some(user) => cloud.management(
            "POST",
            "devicecode/approve",
            Some(json!({"user_code": code, "user": user})),
        ),
        None => cloud.management(
            "POST",
            "devicecode/decline",
            Some(json!({"user_code": code})),
        ),
    };
    let mut output = child.wait_with_output().unwrap();
    output.stderr = message.clone().into_bytes();
    output.stderr.extend(
        rest.iter()
            .flat_map(|line| format!("{line}\n").into_bytes()),
    );
    (output, message)
}

/// A browser stand-in: GETs the authorize URL from the emulator; a 302 is followed to the loopback listener
/// (`response_mode=query`), and Entra's `form_post` page has its form POSTed there as a browser's script does
/// (the hidden inputs, character references decoded; line breaks through `printf %b`).
fn browser(cloud: &TestCloud) -> String {
    let dir = cloud.dir().join("browser");
    fs::create_dir_all(&dir).unwrap();
    let script = format!(
        r#"#!/bin/sh
printf '%s\n' "$1" >> '{dir}/opened'
/usr/bin/curl -sS --noproxy '*' --cacert '{ca}' -o '{dir}/answer' -w '%{{redirect_url}}' "$1" > '{dir}/location' || exit 1
location=$(cat '{dir}/location')
if [ -n "$location" ]; then
  exec /usr/bin/curl -sS --noproxy '*' -o '{dir}/page' "$location"
fi
action=$(sed -n 's/.*<form method="POST" name="hiddenform" action="\([^"]*\)".*/\1/p' '{dir}/answer')
set --
while IFS= read -r pair; do
  set -- "$@" --data-urlencode "$(printf '%b' "$pair")"
done <<FORM
$(grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' '{dir}/answer' \
  | sed 's/.*name="\([^"]*\)" value="\([^"]*\)"/\1=\2/; s/&#13;/\\r/g; s/&#10;/\\n/g; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g')
FORM
exec /usr/bin/curl -sS --noproxy '*' -o '{dir}/page' "$@" "$action"
"#,
        dir = dir.display(),
        ca = cloud.ready().ca_cert_file,
    );
    let path = dir.join("browser.sh");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

pub(crate) fn browser_login(cloud: &TestCloud, extra: &[&str]) -> Output {
    let mut command = as_person(cloud);
    command
        .args(["login"])
        .args(extra)
        .env("BROWSER", browser(cloud));
    run(command)
}

/// The sections of az's MSAL cache and how many entries each holds.
fn cache_sections(cloud: &TestCloud) -> Value {
    let cache: Value =
        serde_json::from_slice(&fs::read(azure_dir(cloud).join("msal_token_cache.json")).unwrap())
            .unwrap();
    let counts: serde_json::Map<String, Value> = cache
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, entries)| (name.clone(), entries.as_object().unwrap().len().into()))
        .collect();
    Value::Object(counts)
}

fn profile(cloud: &TestCloud) -> (Vec<u8>, Value) {
    let bytes = fs::read(azure_dir(cloud).join("azureProfile.json")).unwrap();
    let value = serde_json::from_slice(&bytes[3..]).unwrap();
    (bytes, value)
}

/// `account get-access-token` on a person's login: az's keys, the person's ARM token, another scope in a tenant
/// (no `subscription` key), and az's refusal of `-s` with `--tenant`.
fn check_get_access_token(cloud: &TestCloud) {
    let ready = cloud.ready().clone();
    let token = person_json(cloud, &["account", "get-access-token"]);
    let keys: Vec<&String> = token.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "accessToken",
            "expiresOn",
            "expires_on",
            "subscription",
            "tenant",
            "tokenType"
        ]
    );
    assert_eq!(token["subscription"], ready.subscription_id.as_str());
    assert_eq!(token["tenant"], ready.tenant_id.as_str());
    assert_eq!(token["tokenType"], "Bearer");
    let claims = jwt_claims(token["accessToken"].as_str().unwrap());
    assert_eq!(claims["upn"], ready.dev_user_name.as_str());
    assert_eq!(claims["aud"], "https://management.core.windows.net/");
    let expires_on = token["expires_on"].as_i64().unwrap();
    assert!(
        (claims["exp"].as_i64().unwrap() - expires_on).abs() <= 5,
        "{claims} {expires_on}"
    );

    let graph = person_json(
        cloud,
        &[
            "account",
            "get-access-token",
            "--scope",
            &format!("{SERVER_ID}/.default"),
            "--tenant",
            &ready.tenant_id,
        ],
    );
    assert!(graph.get("subscription").is_none(), "{graph}");
    assert_eq!(
        jwt_claims(graph["accessToken"].as_str().unwrap())["aud"],
        SERVER_ID
    );

    let both = person(
        cloud,
        &[
            "account",
            "get-access-token",
            "-s",
            &ready.subscription_id,
            "--tenant",
            &ready.tenant_id,
        ],
    );
    assert_eq!(both.status.code(), Some(1));
    assert!(
        stderr(&both).contains("Please specify only one of subscription and tenant, not both"),
        "{}",
        stderr(&both)
    );
}

#[test]
fn device_code_login_writes_az_files_that_account_commands_read() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let (output, message) = device_code_login(&cloud, Some(&ready.dev_user_name), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    // As az prints it (`print_styled_text`): a line of its own, no `WARNING: ` prefix.
    let instructions = format!(
        "To sign in, use a web browser to open the page {}devicelogin and enter the code",
        ready.authority_host
    );
    assert!(
        message.lines().any(|line| line.starts_with(&instructions)),
        "{message}"
    );
    assert!(output.stdout.is_empty() || output.stdout[0] == b'[');
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed,
        json!([{
            "cloudName": "Emulator",
            "homeTenantId": ready.tenant_id,
            "id": ready.subscription_id,
            "isDefault": true,
            "managedByTenants": [],
            "name": "Emulated Subscription",
            "state": "Enabled",
            "tenantDefaultDomain": "emulator.local",
            "tenantDisplayName": "Emulated Tenant",
            "tenantId": ready.tenant_id,
            "user": {"name": ready.dev_user_name, "type": "user"},
        }])
    );

    // az's files: the profile with its BOM, MSAL's five sections, clouds.config's default.
    let (bytes, stored) = profile(&cloud);
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    assert_eq!(stored["subscriptions"][0]["environmentName"], "Emulator");
    assert_eq!(
        cache_sections(&cloud),
        json!({"AccessToken": 2, "Account": 1, "IdToken": 2, "RefreshToken": 1, "AppMetadata": 1})
    );
    let clouds = fs::read_to_string(azure_dir(&cloud).join("clouds.config")).unwrap();
    // The emulator's section (written by `aksctl cloud register`) gains the default subscription.
    assert!(
        clouds.starts_with("[Emulator]\n")
            && clouds.ends_with(&format!("\nsubscription = {}\n", ready.subscription_id))
            && clouds.matches('[').count() == 1,
        "{clouds}"
    );

    let shown = person_json(&cloud, &["account", "show"]);
    assert_eq!(shown["environmentName"], "Emulator");
    assert_eq!(shown["user"]["name"], ready.dev_user_name.as_str());
    assert!(shown.get("cloudName").is_none());
    let listed = person_json(&cloud, &["account", "list"]);
    assert_eq!(listed, printed);

    check_get_access_token(&cloud);

    // account set: a name, then an unknown one (az's message, nothing changed).
    let set = person(&cloud, &["account", "set", "-s", "emulated subscription"]);
    assert!(
        set.status.success() && set.stdout.is_empty(),
        "{}",
        stderr(&set)
    );
    let unknown = person(&cloud, &["account", "set", "-s", "Nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("The subscription of 'nope' doesn't exist in cloud 'Emulator'."),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(profile(&cloud).0, bytes);
}

#[test]
fn the_last_person_to_log_in_is_who_aksctl_and_kubelogin_act_as_until_logout() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let (output, _) = device_code_login(&cloud, Some(&ready.dev_user_name), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let kubelogin_token = |cloud: &TestCloud| {
        let mut command = kubelogin(cloud);
        command
            .args([
                "get-token",
                "--server-id",
                SERVER_ID,
                "-l",
                "azurecli",
                "--cache-dir",
            ])
            .arg(cloud.dir().join("kubelogin-cache"));
        run(command)
    };
    let as_dev = credential(&kubelogin_token(&cloud));
    assert_eq!(claims(&as_dev)["upn"], ready.dev_user_name.as_str());
    assert!(person(&cloud, &["aks", "list"]).status.success());

    cloud.management(
        "POST",
        "authorize/approve",
        Some(json!({"user": ready.user_name})),
    );
    let output = browser_login(&cloud, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "A web browser has been opened at {}organizations/oauth2/v2.0/authorize. Please continue the login in the web browser.",
            ready.authority_host
        )),
        "{}",
        stderr(&output)
    );
    // `aksctl cloud set` made the emulator az's active cloud too: no warning that az will not see the login.
    assert!(
        !stderr(&output).contains("aksctl's active cloud is"),
        "{}",
        stderr(&output)
    );
    let opened = fs::read_to_string(cloud.dir().join("browser/opened")).unwrap();
    let query = crate::kubelogin::url_query(opened.trim());
    assert_eq!(query["client_id"], AZURE_CLI_CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_info"], "1");
    // As MSAL Python asks for az: the code comes back in a posted form, and the account picker is shown.
    assert_eq!(query["response_mode"], "form_post");
    assert_eq!(query["prompt"], "select_account");
    assert!(
        query["redirect_uri"].starts_with("http://localhost:"),
        "{opened}"
    );
    let answer = fs::read_to_string(cloud.dir().join("browser/answer")).unwrap();
    assert!(
        answer.contains("<form method=\"POST\" name=\"hiddenform\" action=\"http://localhost:"),
        "{answer}"
    );
    let page = fs::read_to_string(cloud.dir().join("browser/page")).unwrap();
    assert!(page.contains("Authentication complete"), "{page}");

    let token = person_json(&cloud, &["account", "get-access-token"]);
    assert_eq!(
        jwt_claims(token["accessToken"].as_str().unwrap())["upn"],
        ready.user_name.as_str()
    );
    let as_admin = credential(&kubelogin_token(&cloud));
    assert_eq!(claims(&as_admin)["upn"], ready.user_name.as_str());
    assert!(person(&cloud, &["aks", "list"]).status.success());

    let logout = person(&cloud, &["logout"]);
    assert!(logout.status.success(), "{}", stderr(&logout));
    for output in [
        person(&cloud, &["aks", "list"]),
        person(&cloud, &["account", "get-access-token"]),
        kubelogin_token(&cloud),
    ] {
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("Please run 'az login' to setup account."),
            "{}",
            stderr(&output)
        );
    }
    // The admin's tokens went; the developer's MSAL account stays (its profile entry was replaced by the
    // admin's login of the same subscription, as in az).
    let sections = cache_sections(&cloud);
    assert_eq!(sections["Account"], 1, "{sections}");
    assert_eq!(sections["AppMetadata"], 1, "{sections}");
    let again = person(&cloud, &["logout"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("There are no active accounts."));

    person_json(&cloud, &["account", "list", "--all"]);
    let clear = person(&cloud, &["account", "clear"]);
    assert!(clear.status.success(), "{}", stderr(&clear));
    assert!(!azure_dir(&cloud).join("msal_token_cache.json").exists());
    assert_eq!(profile(&cloud).1["subscriptions"], json!([]));
}

#[test]
fn paste_back_takes_the_redirect_url_from_stdin_and_checks_its_state() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.management(
        "POST",
        "authorize/approve",
        Some(json!({"user": ready.dev_user_name})),
    );
    let mut command = as_person(&cloud);
    command
        .args(["login", "--use-paste-back", "--tenant", "emulator.local"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let (message, _rest) = stderr_until(&mut child, "/oauth2/v2.0/authorize?");
    let url = message
        .lines()
        .find(|line| line.contains("/oauth2/v2.0/authorize?"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        url.starts_with(&format!(
            "{}{}/oauth2/v2.0/authorize?",
            ready.authority_host, ready.tenant_id
        )),
        "the domain is resolved to the tenant id: {url}"
    );
    assert_eq!(crate::kubelogin::url_query(&url)["response_mode"], "query");
    // The person's browser, elsewhere: the sign-in ends on a localhost address nothing answers.
    let redirect = Command::new("/usr/bin/curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--cacert",
            &ready.ca_cert_file,
            "-o",
            "/dev/null",
            "-w",
            "%{redirect_url}",
        ])
        .arg(&url)
        .output()
        .unwrap();
    let redirect = String::from_utf8(redirect.stdout).unwrap();
    assert!(
        redirect.starts_with("http://localhost/?code="),
        "{redirect}"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{redirect}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed[0]["user"]["name"], ready.dev_user_name.as_str());
    assert!(
        printed[0].get("tenantDefaultDomain").is_none(),
        "no GET /tenants with --tenant"
    );

    // A URL from another sign-in: refused, nothing written.
    let before = profile(&cloud).0;
    let mut command = as_person(&cloud);
    command
        .args(["login", "--use-paste-back"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"http://localhost/?code=stolen-code&state=another-sign-in\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("state mismatch"), "{text}");
    assert!(!text.contains("stolen-code"), "{text}");
    assert!(output.stdout.is_empty());
    assert_eq!(profile(&cloud).0, before);
}

#[test]
fn a_service_principal_login_is_stored_as_az_stores_it_and_logout_removes_it() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let printed = login_service_principal(&cloud);
    assert_eq!(
        printed[0]["user"],
        json!({"name": ready.client_id, "type": "servicePrincipal"})
    );
    assert!(printed[0].get("tenantDefaultDomain").is_none());
    let path = azure_dir(&cloud).join("service_principal_entries.json");
    let entries: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        entries,
        json!([{"client_id": ready.client_id, "tenant": ready.tenant_id, "client_secret": ready.client_secret}])
    );
    let token = person_json(&cloud, &["account", "get-access-token"]);
    assert_eq!(
        jwt_claims(token["accessToken"].as_str().unwrap())["appid"],
        ready.client_id.as_str()
    );
    assert!(person(&cloud, &["aks", "list"]).status.success());

    // --debug shows the requests, never the secret or a token.
    let debug = login_service_principal_with(&cloud, &["--debug"]);
    assert!(debug.status.success(), "{}", stderr(&debug));
    let text = stderr(&debug);
    assert!(text.contains("/subscriptions"), "{text}");
    assert!(!text.contains(&ready.client_secret), "{text}");
    assert!(!text.contains("eyJ"), "no JWT in --debug: {text}");

    // A wrong secret: Entra's line, and nothing stored.
    let wrong = person(
        &cloud,
        &[
            "login",
            "--service-principal",
            "-u",
            &ready.nonadmin_client_id,
            "-p",
            "wrong-secret",
            "--tenant",
            &ready.tenant_id,
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("AADSTS7000215"),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains("wrong-secret"));
    let entries: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1);

    // A certificate: `--certificate PEM`, or `-p` naming the PEM file as az still accepts; stored by path.
    for flag in ["--certificate", "-p"] {
        let output = person(
            &cloud,
            &[
                "login",
                "--service-principal",
                "-u",
                &ready.cert_client_id,
                flag,
                &ready.cert_file,
                "--tenant",
                &ready.tenant_id,
            ],
        );
        assert!(output.status.success(), "{flag}: {}", stderr(&output));
    }
    let entries: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        entries[1],
        json!({"client_id": ready.cert_client_id, "tenant": ready.tenant_id, "certificate": ready.cert_file})
    );
    assert_eq!(
        entries.as_array().unwrap().len(),
        2,
        "one entry per client and tenant"
    );
    let token = person_json(&cloud, &["account", "get-access-token"]);
    assert_eq!(
        jwt_claims(token["accessToken"].as_str().unwrap())["appid"],
        ready.cert_client_id.as_str()
    );
    let logout = person(&cloud, &["logout", "--username", &ready.cert_client_id]);
    assert!(logout.status.success(), "{}", stderr(&logout));

    let logout = person(&cloud, &["logout", "--username", &ready.client_id]);
    assert!(logout.status.success(), "{}", stderr(&logout));
    assert_eq!(fs::read_to_string(&path).unwrap().trim(), "[]");
    assert_eq!(profile(&cloud).1["subscriptions"], json!([]));
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_files_alone() {
    let cloud = cloud();
    let ready = cloud.ready().clone();

    let unknown = person(
        &cloud,
        &["login", "--use-device-code", "--tenant", "nosuch.example"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("AADSTS90002"),
        "{}",
        stderr(&unknown)
    );

    cloud.management("POST", "authorize/decline", None);
    let declined = browser_login(&cloud, &[]);
    assert_eq!(declined.status.code(), Some(1));
    assert!(
        stderr(&declined).contains("AADSTS65004"),
        "{}",
        stderr(&declined)
    );
    assert!(!azure_dir(&cloud).join("azureProfile.json").exists());

    // A corrupt token cache is named and never overwritten.
    fs::create_dir_all(azure_dir(&cloud)).unwrap();
    let cache = azure_dir(&cloud).join("msal_token_cache.json");
    fs::write(&cache, b"{\"AccessToken\": {").unwrap();
    cloud.management(
        "POST",
        "authorize/approve",
        Some(json!({"user": ready.dev_user_name})),
    );
    let corrupt = browser_login(&cloud, &[]);
    assert_eq!(corrupt.status.code(), Some(1));
    assert!(
        stderr(&corrupt).contains(&cache.display().to_string()),
        "{}",
        stderr(&corrupt)
    );
    assert_eq!(fs::read(&cache).unwrap(), b"{\"AccessToken\": {");
    for output in [&unknown, &declined, &corrupt] {
        assert!(output.stdout.is_empty());
    }

    // A person who declines the device code, and a device-code sign-in Conditional Access blocks.
    let (declined, _) = device_code_login(&cloud, None, &[]);
    assert_eq!(declined.status.code(), Some(1));
    assert!(
        stderr(&declined).contains("AADSTS"),
        "{}",
        stderr(&declined)
    );
    cloud.management(
        "PUT",
        "conditional-access",
        Some(json!({"device_code_blocked": "all"})),
    );
    let (blocked, _) = device_code_login(&cloud, Some(&ready.dev_user_name), &[]);
    assert_eq!(blocked.status.code(), Some(1));
    assert!(
        stderr(&blocked).contains("AADSTS53003"),
        "{}",
        stderr(&blocked)
    );
    assert!(
        stderr(&blocked).contains(
            "hint: device code sign-in is blocked by your organisation's Conditional Access policy; run \
             `aksctl login` (a browser) or `aksctl login --use-paste-back` (no local browser) instead"
        ),
        "{}",
        stderr(&blocked)
    );
    assert_eq!(fs::read(&cache).unwrap(), b"{\"AccessToken\": {");

    let usage = person(&cloud, &["login", "--service-principal", "-u", "x"]);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
}

#[test]
fn a_locked_token_cache_is_waited_for_then_a_clear_timeout() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    fs::create_dir_all(azure_dir(&cloud)).unwrap();
    let lock = azure_dir(&cloud).join("msal_token_cache.json.lockfile");
    // Another process (flock(1): the same flock(2) family msal-extensions' portalocker uses) holds az's lock for
    // longer than aksctl waits (30 s in all: a held lock file is never taken as abandoned).
    let mut holder = Command::new("/usr/bin/flock")
        .arg("--no-fork")
        .arg(&lock)
        .args(["sleep", "120"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lock.exists() {
        assert!(
            Instant::now() < deadline,
            "flock never created the lock file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let (output, _) = device_code_login(&cloud, Some(&ready.dev_user_name), &[]);
    let waited = started.elapsed();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("timed out after"), "{text}");
    assert!(text.contains(&lock.display().to_string()), "{text}");
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert!(!azure_dir(&cloud).join("msal_token_cache.json").exists());
    assert!(!azure_dir(&cloud).join("azureProfile.json").exists());
}

#[test]
fn a_managed_identity_login_is_an_az_identity_entry_that_get_access_token_uses() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let with_endpoint = |args: &[&str]| {
        let mut command = as_person(&cloud);
        command
            .args(args)
            .env("IDENTITY_ENDPOINT", &ready.identity_endpoint)
            .env("IDENTITY_HEADER", &ready.identity_header);
        run(command)
    };
    let output = with_endpoint(&["login", "--identity", "--client-id", &ready.msi_client_id]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed[0]["user"],
        json!({
            "assignedIdentityInfo": format!("MSIClient-{}", ready.msi_client_id),
            "name": "userAssignedIdentity",
            "type": "servicePrincipal",
        })
    );
    assert_eq!(printed[0]["tenantId"], ready.tenant_id.as_str());
    let token = with_endpoint(&["account", "get-access-token"]);
    assert!(token.status.success(), "{}", stderr(&token));
    let token: Value = serde_json::from_slice(&token.stdout).unwrap();
    assert_eq!(
        jwt_claims(token["accessToken"].as_str().unwrap())["appid"],
        ready.msi_client_id.as_str()
    );
    assert!(used_app_service_endpoint(&cloud));
    // Every other command reads that login natively too (only the shared login in the chain, no az on PATH).
    cloud.clear_requests();
    let mut command = as_person(&cloud);
    command
        .args(["group", "list"])
        .env("PATH", "/usr/bin:/bin")
        .env("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
        .env("IDENTITY_ENDPOINT", &ready.identity_endpoint)
        .env("IDENTITY_HEADER", &ready.identity_header);
    let listed = run(command);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        used_app_service_endpoint(&cloud),
        "the shared login asked the managed-identity endpoint itself"
    );

    // The same identity named by its object id (az's `MSIObject-<id>`): `object_id` on the endpoint, as MSAL
    // and azidentity send it, at login and for the shared login's tokens afterwards.
    let object_id = jwt_claims(token["accessToken"].as_str().unwrap())["oid"]
        .as_str()
        .unwrap()
        .to_owned();
    cloud.clear_requests();
    let output = with_endpoint(&["login", "--identity", "--object-id", &object_id]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed[0]["user"]["assignedIdentityInfo"],
        format!("MSIObject-{object_id}")
    );
    let token = with_endpoint(&["account", "get-access-token"]);
    assert!(token.status.success(), "{}", stderr(&token));
    let token: Value = serde_json::from_slice(&token.stdout).unwrap();
    assert_eq!(
        jwt_claims(token["accessToken"].as_str().unwrap())["oid"],
        object_id.as_str()
    );
    let asked: Vec<String> = cloud
        .requests()
        .iter()
        .filter(|request| request["path"] == "/msi/token")
        .map(|request| request["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !asked.is_empty()
            && asked
                .iter()
                .all(|query| query.contains(&format!("object_id={object_id}"))),
        "{asked:?}"
    );
    // An object id no identity has: the endpoint's refusal, exit 1, nothing stored.
    let before = profile(&cloud).0;
    let unknown = with_endpoint(&[
        "login",
        "--identity",
        "--object-id",
        "00000000-0000-0000-0000-00000000dead",
    ]);
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert_eq!(profile(&cloud).0, before);
    let both = person(
        &cloud,
        &[
            "login",
            "--identity",
            "--object-id",
            "x",
            "--client-id",
            "y",
        ],
    );
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
}

#[test]
fn without_a_browser_login_uses_the_device_code_as_az_does() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let mut command = as_person(&cloud);
    command.arg("login");
    for variable in ["BROWSER", "DISPLAY", "WAYLAND_DISPLAY"] {
        command.env_remove(variable);
    }
    let (output, message) = complete_device_code(&cloud, command, Some(&ready.dev_user_name));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        message.contains("To sign in, use a web browser"),
        "{message}"
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed[0]["user"]["name"], ready.dev_user_name.as_str());
}

#[test]
fn an_expired_device_code_ends_with_entras_aadsts70020_line_and_exit_1() {
    let cloud = cloud();
    cloud.management(
        "PUT",
        "conditional-access",
        Some(json!({"device_code_expires_in": 2})),
    );
    let mut command = as_person(&cloud);
    command.args(["login", "--use-device-code"]);
    let started = Instant::now();
    let output = run(command);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    assert!(
        text.contains("To sign in, use a web browser to open the page"),
        "{text}"
    );
    assert!(
        text.contains("AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired."),
        "{text}"
    );
    assert!(
        text.ends_with(
            "hint: the code expired before the sign-in was finished; run `aksctl login --use-device-code` again \
             and enter the new code within the time it gives\n"
        ),
        "{text}"
    );
    assert!(!text.contains("Trace ID"), "{text}");
    assert!(!azure_dir(&cloud).join("azureProfile.json").exists());
}

/// `kubelogin -l azurecli` on a person's login, with no kubelogin cache: when az's MSAL cache holds a valid
/// access token of that person for the server's scope, that token is the answer, with no request at all (as
/// `az account get-access-token` answers from its cache), and it is not copied into kubelogin's cache. A token
/// within MSAL's 5-minute margin is refreshed instead, and another person's login never gets the first one's token.
#[test]
fn kubelogin_azurecli_serves_azs_cached_token_without_a_request_and_only_to_its_person() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let (output, _) = device_code_login(&cloud, Some(&ready.user_name), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let get_token = |cache_dir: &str| {
        let mut command = kubelogin(&cloud);
        command
            .args(["get-token", "--server-id", SERVER_ID, "-l", "azurecli"])
            .arg("--cache-dir")
            .arg(cloud.dir().join(cache_dir));
        credential(&run(command))
    };
    // The login cached ARM tokens only: the server's token takes a refresh, stored in az's cache.
    cloud.clear_requests();
    let first = get_token("cache-1");
    assert_eq!(claims(&first)["upn"], ready.user_name.as_str());
    assert_eq!(token_requests(&cloud).len(), 1, "{:?}", cloud.requests());

    cloud.clear_requests();
    let second = get_token("cache-2");
    assert_eq!(second["status"]["token"], first["status"]["token"]);
    assert_eq!(
        second["status"]["expirationTimestamp"],
        first["status"]["expirationTimestamp"]
    );
    assert_eq!(cloud.requests(), Vec::<Value>::new(), "no request at all");
    assert!(
        !cloud.dir().join("cache-2").exists(),
        "az's cache holds the token; kubelogin's cache gets no copy"
    );

    // The same token, 4 minutes from expiry: inside MSAL's margin, so refreshed at Entra.
    let path = azure_dir(&cloud).join("msal_token_cache.json");
    let mut cache: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut expiring = 0;
    for entry in cache["AccessToken"].as_object_mut().unwrap().values_mut() {
        if entry["target"].as_str().unwrap().starts_with(SERVER_ID) {
            entry["expires_on"] = (now + 240).to_string().into();
            expiring += 1;
        }
    }
    assert_eq!(expiring, 1, "{cache}");
    fs::write(&path, serde_json::to_vec(&cache).unwrap()).unwrap();
    cloud.clear_requests();
    let third = get_token("cache-3");
    assert_eq!(claims(&third)["upn"], ready.user_name.as_str());
    assert_eq!(token_requests(&cloud).len(), 1, "{:?}", cloud.requests());

    // Another person signs in: the admin's token stays in az's cache, and is not theirs.
    let (output, _) = device_code_login(&cloud, Some(&ready.dev_user_name), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let as_dev = get_token("cache-4");
    assert_eq!(claims(&as_dev)["upn"], ready.dev_user_name.as_str());
    assert_ne!(as_dev["status"]["token"], third["status"]["token"]);
}
