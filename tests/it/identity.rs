//! A cached token is served only to the identity that earned it: aksctl's ARM/Graph token cache and kubelogin's
//! cache key tokens by authority, tenant, client and a one-way fingerprint of the secret, so a changed secret or
//! a switch of principal takes effect on the very next call (issue #13 point 4).

use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::Value;

use crate::kubelogin::{claims, credential, get_token};
use crate::{cloud, stderr};

/// aksctl with the environment service principal `client_id`/`secret`, sharing the sandbox's token cache.
fn as_principal(cloud: &TestCloud, client_id: &str, secret: &str, args: &[&str]) -> Output {
    cloud
        .command()
        .args(args)
        .env("AZURE_CLIENT_ID", client_id)
        .env("AZURE_CLIENT_SECRET", secret)
        .output()
        .expect("aksctl runs")
}

#[test]
fn a_changed_secret_or_another_principal_never_gets_a_cached_token() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let admin = |secret: &str, args: &[&str]| as_principal(&cloud, &ready.client_id, secret, args);

    // The admin signs in once; its ARM token is now cached.
    let output = admin(&ready.client_secret, &["group", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));

    // The same principal with a wrong secret is refused by Entra, not served from the cache.
    let output = admin("wrong-secret", &["group", "list"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("AADSTS7000215"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("wrong-secret"),
        "{}",
        stderr(&output)
    );

    // Graph: the admin may create groups, the non-admin may not (403), whatever the admin left in the cache.
    let created = admin(
        &ready.client_secret,
        &[
            "ad",
            "group",
            "create",
            "--display-name",
            "g1",
            "--mail-nickname",
            "g1",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let denied = as_principal(
        &cloud,
        &ready.nonadmin_client_id,
        &ready.nonadmin_client_secret,
        &[
            "ad",
            "group",
            "create",
            "--display-name",
            "g2",
            "--mail-nickname",
            "g2",
        ],
    );
    assert_eq!(denied.status.code(), Some(1), "{}", stderr(&denied));
    assert!(
        stderr(&denied).contains("Insufficient privileges to complete the operation."),
        "the non-admin acted as itself: {}",
        stderr(&denied)
    );

    // The right secret again: served from the cache, no new sign-in.
    cloud.clear_requests();
    let output = admin(&ready.client_secret, &["group", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let sign_ins = cloud
        .requests()
        .into_iter()
        .filter(|request| request["path"].as_str().unwrap_or("").ends_with("/token"))
        .count();
    assert_eq!(sign_ins, 0, "the admin's own cached token is reused");

    // No cache file holds a secret.
    for entry in std::fs::read_dir(cloud.config_dir().join("tokens")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(&ready.client_secret) && !text.contains("wrong-secret"));
    }
}

/// A small deterministic generator (xorshift64*), so a failure can be replayed from its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn randomised_switches_and_rotations_never_serve_a_stale_kubelogin_token() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let tenant = ready.tenant_id.as_str();
    // (client id, secret, whether Entra accepts it)
    let principals = [
        (ready.client_id.as_str(), ready.client_secret.as_str(), true),
        (
            ready.nonadmin_client_id.as_str(),
            ready.nonadmin_client_secret.as_str(),
            true,
        ),
        (ready.client_id.as_str(), "rotated-away", false),
        (ready.nonadmin_client_id.as_str(), "not-the-secret", false),
    ];
    let seed = 0x5eed_1d3e_u64;
    let mut rng = Rng(seed);
    let mut stale = Vec::new();
    for round in 0..120 {
        let (client_id, secret, accepted) = principals[(rng.next() % 4) as usize];
        let output = get_token(
            &cloud,
            "shared-cache",
            &[
                "-l",
                "spn",
                "--client-id",
                client_id,
                "--client-secret",
                secret,
                "-t",
                tenant,
            ],
            &[],
        );
        let served: Option<Value> = output
            .status
            .success()
            .then(|| claims(&credential(&output))["appid"].clone());
        let ok = match (accepted, &served) {
            (true, Some(appid)) => appid == client_id,
            (false, None) => stderr(&output).contains("AADSTS7000215"),
            _ => false,
        };
        if !ok {
            stale.push(format!(
                "round {round} (seed {seed:#x}): {client_id} accepted={accepted} served={served:?} stderr={}",
                stderr(&output)
            ));
        }
    }
    assert!(stale.is_empty(), "0 stale expected:\n{}", stale.join("\n"));
}
