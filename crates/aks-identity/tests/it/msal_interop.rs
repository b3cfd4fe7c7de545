//! Interop with the real MSAL Python 1.39 + msal-extensions 1.3.1 that az 2.91 uses (tests/msal_interop.py, run
//! with the az venv's python inside `unshare -n`): MSAL's file read by us, ours read by MSAL, byte-identical
//! files for the same answers, and 20 MSAL + 20 aksctl writers on one cache at once.
//!
//! Each of the 40 writers stores a user's sign-in (in msal-extensions that is 5 locked rewrites: AccessToken,
//! Account, IdToken, RefreshToken, AppMetadata; ours is one).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aks_identity::azure_cli::cache_file::{load_token_cache, update_token_cache};
use aks_identity::azure_cli::storage::PlaintextFile;
use aks_identity::azure_cli::token_cache::{
    AZURE_CLI_CLIENT_ID, AccessTokenQuery, Grant, TokenCache, TokenResponse,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::support::az_venv_tool;

const HOST: &str = "login.microsoftonline.com";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ARM_DEFAULT: &str = "https://management.core.windows.net//.default";
const ARM_IMPERSONATION: &str = "https://management.core.windows.net//user_impersonation";

/// `python tests/msal_interop.py ARGS` inside `unshare -n`, which must succeed; its stdout.
fn msal(python: &Path, arguments: &[&str]) -> String {
    let output = msal_command(python, arguments)
        .output()
        .expect("unshare runs");
    assert!(
        output.status.success(),
        "msal_interop.py {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn msal_command(python: &Path, arguments: &[&str]) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/msal_interop.py");
    let mut command = Command::new("unshare");
    command.arg("-n").arg(python).arg(script).args(arguments);
    command
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token answer for user `uid` as Entra sends it (client_info and an id token built here).
fn answer(uid: &str, foci: bool) -> Map<String, Value> {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": format!("{ARM_IMPERSONATION} {ARM_DEFAULT}"),
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "refresh_in": 1800,
        "access_token": format!("at-{uid}"),
        "refresh_token": format!("rt-{uid}"),
        "client_info": b64(&json!({"uid": uid, "utid": TENANT})),
        "id_token": format!("e30.{}.sig", b64(&json!({"oid": uid, "preferred_username": format!("{uid}@Contoso.com"), "sub": "s", "tid": TENANT}))),
    });
    if foci {
        body["foci"] = "1".into();
    }
    body.as_object().unwrap().clone()
}

/// MSAL's token event for an answer, with `now`: its `scope` is the answer's, split, as MSAL's OAuth client
/// (`msal/oauth2cli/oauth2.py` `_obtain_token`) passes it to the cache.
fn event(body: &Map<String, Value>, grant: &str, realm: &str, now: i64) -> String {
    let scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    json!({
        "client_id": AZURE_CLI_CLIENT_ID,
        "scope": scope,
        "token_endpoint": format!("https://{HOST}/{realm}/oauth2/v2.0/token"),
        "grant_type": grant,
        "response": body,
        "data": {},
        "now": now,
    })
    .to_string()
}

fn add(cache: &mut TokenCache, body: &Map<String, Value>, grant: Grant, realm: &str, now: i64) {
    let requested = vec![ARM_DEFAULT.to_string()];
    cache.add(
        &TokenResponse {
            client_id: AZURE_CLI_CLIENT_ID,
            environment: HOST,
            realm,
            requested_scopes: &requested,
            grant,
            username: None,
            body,
        },
        now,
    );
}

#[test]
fn msal_writes_a_cache_and_we_find_its_account_access_token_and_refresh_token() {
    let Some(python) = az_venv_tool("python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msal_token_cache.json");
    let at = now();
    let alice = answer("alice", true);
    let bob = answer("bob", false);
    msal(
        &python,
        &[
            "write",
            file.to_str().unwrap(),
            &event(&alice, "authorization_code", TENANT, at),
        ],
    );
    msal(
        &python,
        &[
            "write",
            file.to_str().unwrap(),
            &event(
                &bob,
                "urn:ietf:params:oauth:grant-type:device_code",
                "organizations",
                at,
            ),
        ],
    );

    let storage = PlaintextFile::new(&file);
    let cache = load_token_cache(&storage).unwrap();
    let accounts = cache.accounts(HOST, Some("ALICE@contoso.com"));
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].home_account_id, format!("alice.{TENANT}"));
    let scopes = vec![ARM_DEFAULT.to_string()];
    let query = AccessTokenQuery {
        client_id: AZURE_CLI_CLIENT_ID,
        environment: HOST,
        realm: TENANT,
        home_account_id: Some(&accounts[0].home_account_id),
        scopes: &scopes,
        ext_cache_key: None,
    };
    let token = cache
        .find_access_token(&query, at)
        .expect("MSAL's access token");
    assert_eq!(token.secret.expose(), "at-alice");
    assert_eq!(token.expires_on, at + 3599);
    let refresh = cache.refresh_tokens(HOST, &accounts[0].home_account_id, AZURE_CLI_CLIENT_ID);
    assert_eq!(refresh[0].secret.expose(), "rt-alice");
    assert_eq!(refresh[0].family_id.as_deref(), Some("1"));
    let bob_account = &cache.accounts(HOST, Some("bob@contoso.com"))[0];
    assert_eq!(bob_account.realm, "organizations");

    // The same answers added by us give the same bytes MSAL wrote.
    let mut ours = TokenCache::empty(&file);
    add(&mut ours, &alice, Grant::AuthorizationCode, TENANT, at);
    add(&mut ours, &bob, Grant::DeviceCode, "organizations", at);
    assert_eq!(
        String::from_utf8(ours.to_bytes()).unwrap(),
        std::fs::read_to_string(&file).unwrap()
    );
}

#[test]
fn we_write_a_cache_and_msal_serves_our_token_without_the_network() {
    let Some(python) = az_venv_tool("python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msal_token_cache.json");
    let at = now();
    let carol = answer("carol", true);
    let storage = PlaintextFile::new(&file);
    update_token_cache(&storage, |cache| {
        add(cache, &carol, Grant::AuthorizationCode, TENANT, at)
    })
    .unwrap();

    let found: Value = serde_json::from_str(&msal(
        &python,
        &[
            "read",
            file.to_str().unwrap(),
            TENANT,
            "CAROL@contoso.com",
            ARM_DEFAULT,
        ],
    ))
    .unwrap();
    assert_eq!(
        found["accounts"][0]["home_account_id"],
        format!("carol.{TENANT}")
    );
    assert_eq!(found["accounts"][0]["local_account_id"], "carol");
    assert_eq!(
        found["access_token"], "at-carol",
        "acquire_token_silent served our token: {found}"
    );
    assert_eq!(found["token_source"], "cache");
    assert_eq!(found["refresh_tokens"], json!(["rt-carol"]));

    // Byte for byte what MSAL itself makes of the same answer.
    let golden = msal(
        &python,
        &["golden", &event(&carol, "authorization_code", TENANT, at)],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), golden);
}

/// What one burst of 20 MSAL + 20 aksctl writers left behind.
struct Burst {
    /// Some MSAL writer waited past msal-extensions' 5 s lock-file timeout and went on without the lock file
    /// ("Process N failed to create lock file"): from then on msal-extensions itself may lose writes.
    msal_left_the_protocol: bool,
    /// What each of our writers got.
    ours: Vec<Result<(), String>>,
    /// The final file, parsed (or why it does not parse).
    tree: Result<Value, String>,
    /// The lock file is still there.
    lock_file_left: bool,
}

impl Burst {
    /// The writes not in the final file.
    fn missing(&self) -> Vec<String> {
        let Ok(tree) = &self.tree else {
            return vec!["everything: the file does not parse".into()];
        };
        let found: std::collections::BTreeSet<&str> = ["AccessToken", "RefreshToken"]
            .iter()
            .filter_map(|section| tree[*section].as_object())
            .flatten()
            .filter_map(|(_, entry)| entry["secret"].as_str())
            .collect();
        (0..WRITERS)
            .flat_map(|index| {
                ["at-py", "rt-py", "at-rs", "rt-rs"].map(|kind| format!("{kind}-{index}"))
            })
            .filter(|expected| !found.contains(expected.as_str()))
            .collect()
    }
}

const WRITERS: usize = 20;
/// Bursts to try before concluding that MSAL never kept its protocol.
const ATTEMPTS: usize = 5;

/// 20 Python processes (msal-extensions' PersistedTokenCache) and 20 threads of ours, released at once, each
/// storing one user's sign-in in one cache. Each writer starts within 0.25 s of the release, at its own
/// phase of the lock's 0.25 s polling interval: writers released in lockstep would all poll at the same instants, so
/// that at most one of them could get the lock per interval, which no real set of processes does.
fn burst(python: &Path) -> Burst {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msal_token_cache.json");
    let go = dir.path().join("go");
    let count = WRITERS.to_string();
    let msal_writers = msal_command(
        python,
        &[
            "hammer",
            file.to_str().unwrap(),
            go.to_str().unwrap(),
            &count,
            "py",
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let ours: Vec<_> = (0..WRITERS)
        .map(|index| {
            let (file, go) = (file.clone(), go.clone());
            std::thread::spawn(move || {
                while !go.exists() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Like the Python writers: all within one lock-polling interval, each at its own phase of it.
                std::thread::sleep(Duration::from_micros(
                    index as u64 * 250_000 / WRITERS as u64,
                ));
                let body = answer(&format!("rs-{index}"), false);
                update_token_cache(&PlaintextFile::new(&file), |cache| {
                    add(
                        cache,
                        &body,
                        Grant::AuthorizationCode,
                        "organizations",
                        now(),
                    )
                })
            })
        })
        .collect();
    // Wait until every Python process has imported MSAL and polls for the go file, then release everyone.
    let ready = |index: usize| dir.path().join(format!("go.ready.{index}")).exists();
    let waiting = Instant::now();
    while !(0..WRITERS).all(ready) {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "the Python writers did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(&go, b"").unwrap();
    let ours = ours
        .into_iter()
        .map(|writer| {
            writer
                .join()
                .unwrap()
                .map(|_| ())
                .map_err(|error| format!("{error:?}"))
        })
        .collect();
    let output = msal_writers.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let msal_left_the_protocol = stderr.contains("failed to create lock file");
    assert!(
        output.status.success() || msal_left_the_protocol,
        "MSAL writers failed: {stderr}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    Burst {
        msal_left_the_protocol,
        ours,
        tree: serde_json::from_str(&text).map_err(|error| error.to_string()),
        lock_file_left: dir.path().join("msal_token_cache.json.lockfile").exists(),
    }
}

#[test]
fn twenty_msal_writers_and_twenty_of_ours_at_once_lose_nothing() {
    let Some(python) = az_venv_tool("python") else {
        return;
    };
    // A burst in which MSAL kept its own protocol must lose nothing. On an overloaded machine some MSAL writer
    // may wait past its 5 s lock-file timeout and go on unlocked (msal-extensions' own fallback, which loses
    // writes without us too): such a burst proves nothing either way, so it is run again, up to ATTEMPTS times.
    for attempt in 1..=ATTEMPTS {
        let burst = burst(&python);
        if !burst.msal_left_the_protocol {
            for result in &burst.ours {
                assert_eq!(result, &Ok(()), "our writer got the lock and wrote");
            }
            let tree = burst.tree.as_ref().expect("the file stays valid JSON");
            assert!(
                burst.missing().is_empty(),
                "lost writes: {:?}",
                burst.missing()
            );
            for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
                assert_eq!(
                    tree[section].as_object().unwrap().len(),
                    2 * WRITERS,
                    "{section}"
                );
            }
            assert!(!burst.lock_file_left, "the lock file is gone");
            return;
        }
        // Even then ours never write over a file MSAL tore: they refuse it (Corrupt) instead.
        for result in &burst.ours {
            assert!(
                result.is_ok()
                    || result
                        .as_ref()
                        .is_err_and(|error| error.starts_with("Corrupt")),
                "{result:?}"
            );
        }
        eprintln!(
            "attempt {attempt}: an MSAL writer gave up on the lock file after 5 s (machine overloaded); lost: {:?}",
            burst.missing()
        );
    }
    panic!(
        "in {ATTEMPTS} bursts some MSAL writer always waited past msal-extensions' 5 s lock-file timeout \
         (the machine is too loaded for 40 writers within msal-extensions' protocol; see docs/azure-cli-files.md)"
    );
}
