//! Randomised identity cycles, aksctl alone (issue #13 point 4; the run mixed with the real az is
//! `scripts/shared_login_proofs.py cycles`, in scripts/az-conformance.sh): people and service principals sign in
//! (browser, device code, secret, certificate; a guest tenant), log out, switch accounts with `account set`, and an
//! environment service principal presents a rotated secret; after every step the tokens served by
//! `account get-access-token`, by an ARM call (`aks list`, its caller from the emulator's request log) and by
//! `kubelogin get-token -l azurecli` / `-l spn` carry the identity az's profile names, or fail with az's message
//! when nobody is signed in. `AKSCTL_IDENTITY_CYCLES` and `AKSCTL_IDENTITY_SEED` change the run's length and seed.

use std::collections::BTreeMap;
use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::identity::Rng;
use crate::kubelogin::{claims, credential, get_token};
use crate::login::{browser_login, device_code_login, jwt_claims, person};
use crate::{cloud, stderr};

/// One way to sign in and what it leaves in az's profile.
struct Login {
    name: String,
    /// `aksctl login` arguments (a person: the browser or device code approves `user`).
    args: Vec<String>,
    user: Option<String>,
    /// The profile entry's id (a tenant-level account's is the tenant id) and user name.
    subscription: String,
    user_name: String,
    /// The `oid` and `tid` its tokens must carry.
    expect: (String, String),
}

fn logins(cloud: &TestCloud) -> (Vec<Login>, BTreeMap<String, String>) {
    let ready = cloud.ready().clone();
    let home = ready.tenant_id.clone();
    let directory = cloud.management("GET", "state", None)["directory"].clone();
    let object_id = |list: &str, key: &str, value: &str| -> String {
        let entries = directory[list].as_array().unwrap();
        let entry = entries.iter().find(|entry| entry[key] == value).unwrap();
        entry["object_id"].as_str().unwrap().to_owned()
    };
    let guest = cloud.management("POST", "tenants", Some(json!({"displayName": "Guest"})));
    let guest = guest["tenantId"].as_str().unwrap().to_owned();
    let mut logins = Vec::new();
    for user in [&ready.user_name, &ready.dev_user_name] {
        let body = json!({"userPrincipalName": user});
        let guest_oid =
            cloud.management("POST", &format!("tenants/{guest}/guests"), Some(body))["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let person = |name: &str, args: Vec<String>, subscription: &str, expect| Login {
            name: format!("{user} ({name})"),
            args,
            user: Some(user.clone()),
            subscription: subscription.to_owned(),
            user_name: user.clone(),
            expect,
        };
        let oid = object_id("users", "user_principal_name", user);
        logins.push(person(
            "home",
            vec![],
            &ready.subscription_id,
            (oid, home.clone()),
        ));
        let args = ["--tenant", &guest, "--allow-no-subscriptions"].map(String::from);
        logins.push(person(
            "guest",
            args.to_vec(),
            &guest,
            (guest_oid, guest.clone()),
        ));
    }
    let mut principals = BTreeMap::new();
    let credentials = [
        (&ready.client_id, "-p", &ready.client_secret),
        (
            &ready.nonadmin_client_id,
            "-p",
            &ready.nonadmin_client_secret,
        ),
        (&ready.cert_client_id, "--certificate", &ready.cert_file),
    ];
    for (client, flag, credential) in credentials {
        let oid = object_id("service_principals", "app_id", client);
        principals.insert(client.clone(), oid.clone());
        let args = [
            "--service-principal",
            "--tenant",
            &home,
            "-u",
            client,
            flag,
            credential,
        ];
        logins.push(Login {
            name: format!("service principal {client} ({flag})"),
            args: args.map(String::from).to_vec(),
            user: None,
            subscription: ready.subscription_id.clone(),
            user_name: client.clone(),
            expect: (oid, home.clone()),
        });
    }
    (logins, principals)
}

/// az's profile as the steps should leave it (azure-cli `azure/cli/core/_profile.py`): entries by id, a login's
/// entry replaces the one with its id and becomes the default, logout removes the user's entries and leaves no
/// default.
#[derive(Default, Debug)]
struct Profile {
    entries: BTreeMap<String, usize>,
    default: Option<String>,
}

struct Cycles<'a> {
    cloud: &'a TestCloud,
    logins: Vec<Login>,
    principals: BTreeMap<String, String>,
    profile: Profile,
    rng: Rng,
}

impl Cycles<'_> {
    fn expected(&self) -> Option<&(String, String)> {
        let index = self.profile.entries.get(self.profile.default.as_ref()?)?;
        Some(&self.logins[*index].expect)
    }

    fn nobody_error(&self) -> &'static str {
        if self.profile.entries.is_empty() {
            "Please run 'az login' to setup account."
        } else {
            "No subscription found. Run 'az account set' to select a subscription."
        }
    }

    /// One random step; its description.
    fn step(&mut self) -> Result<String, String> {
        let roll = self.rng.next() % 100;
        if roll < 40 {
            self.login()
        } else if roll < 55 {
            self.logout()
        } else if roll < 75 && !self.profile.entries.is_empty() {
            let ids: Vec<String> = self.profile.entries.keys().cloned().collect();
            let id = ids[(self.rng.next() % ids.len() as u64) as usize].clone();
            let output = person(self.cloud, &["account", "set", "-s", &id]);
            require(output.status.success(), "account set", &output)?;
            self.profile.default = Some(id.clone());
            Ok(format!("account set -s {id}"))
        } else {
            self.rotate()
        }
    }

    fn login(&mut self) -> Result<String, String> {
        let index = (self.rng.next() % self.logins.len() as u64) as usize;
        let login = &self.logins[index];
        let args: Vec<&str> = login.args.iter().map(String::as_str).collect();
        let (output, how) = match &login.user {
            Some(user) if self.rng.next().is_multiple_of(4) => (
                device_code_login(self.cloud, Some(user), &args).0,
                "device code",
            ),
            Some(user) => {
                let body = json!({"user": user});
                self.cloud
                    .management("POST", "authorize/approve", Some(body));
                (browser_login(self.cloud, &args), "browser")
            }
            None => {
                let mut argv = vec!["login"];
                argv.extend(&args);
                (person(self.cloud, &argv), "secret or certificate")
            }
        };
        let what = format!("login {} ({how})", login.name);
        require(output.status.success(), &what, &output)?;
        let id = login.subscription.clone();
        self.profile.entries.insert(id.clone(), index);
        self.profile.default = Some(id);
        Ok(what)
    }

    fn logout(&mut self) -> Result<String, String> {
        let output = person(self.cloud, &["logout"]);
        let Some(index) = self
            .profile
            .default
            .take()
            .and_then(|id| self.profile.entries.get(&id))
        else {
            let refused = output.status.code() == Some(1)
                && stderr(&output).contains("There are no active accounts.");
            require(refused, "logout with nobody active", &output)?;
            return Ok("logout (nobody active)".into());
        };
        require(output.status.success(), "logout", &output)?;
        let user = self.logins[*index].user_name.to_lowercase();
        let logins = &self.logins;
        self.profile
            .entries
            .retain(|_, index| logins[*index].user_name.to_lowercase() != user);
        Ok(format!("logout {user}"))
    }

    /// An environment service principal with its secret or a rotated-away one.
    fn rotate(&mut self) -> Result<String, String> {
        let ready = self.cloud.ready().clone();
        let (client, mut secret) = if self.rng.next().is_multiple_of(2) {
            (ready.client_id.clone(), ready.client_secret.clone())
        } else {
            (
                ready.nonadmin_client_id.clone(),
                ready.nonadmin_client_secret.clone(),
            )
        };
        let accepted = self.rng.next().is_multiple_of(2);
        if !accepted {
            secret = format!("rotated-{}", &secret[secret.len() - 6..]);
        }
        let expect = accepted.then(|| (self.principals[&client].clone(), ready.tenant_id.clone()));
        let what = format!("environment service principal {client} (accepted: {accepted})");
        let mut command = self.cloud.std_command();
        command
            .args(["aks", "list"])
            .env("AZURE_CLIENT_ID", &client)
            .env("AZURE_CLIENT_SECRET", &secret);
        self.check_arm(command, expect.as_ref(), "AADSTS7000215", &what)?;
        let args = [
            "-l",
            "spn",
            "--client-id",
            &client,
            "--client-secret",
            &secret,
            "-t",
            &ready.tenant_id,
        ];
        let output = get_token(self.cloud, "kubelogin-cache", &args, &[]);
        check_token(
            &output,
            kubelogin_token,
            expect.as_ref(),
            "AADSTS7000215",
            "kubelogin -l spn",
        )?;
        Ok(what)
    }

    /// `command` calls ARM as `expect` (the callers the emulator logged), or fails with `error` calling nobody.
    fn check_arm(
        &self,
        mut command: std::process::Command,
        expect: Option<&(String, String)>,
        error: &str,
        what: &str,
    ) -> Result<(), String> {
        self.cloud.clear_requests();
        let output = command.output().expect("aksctl runs");
        let callers: Vec<(Value, Value)> = self
            .cloud
            .requests()
            .into_iter()
            .filter(|request| {
                let path = request["path"].as_str().unwrap_or_default();
                path.contains("/providers/Microsoft.ContainerService/")
            })
            .map(|request| {
                (
                    request["caller"]["oid"].clone(),
                    request["caller"]["tid"].clone(),
                )
            })
            .collect();
        match expect {
            None => require(
                output.status.code() == Some(1)
                    && stderr(&output).contains(error)
                    && callers.is_empty(),
                &format!(
                    "{what}: expected exit 1 with {error:?} and no ARM call, callers {callers:?}"
                ),
                &output,
            ),
            Some((oid, tid)) => require(
                !callers.is_empty()
                    && callers
                        .iter()
                        .all(|caller| caller == &(json!(oid), json!(tid))),
                &format!("{what}: ARM callers {callers:?}, expected {oid}/{tid}"),
                &output,
            ),
        }
    }

    fn check(&self) -> Result<(), String> {
        let expect = self.expected().cloned();
        let error = self.nobody_error();
        let output = person(self.cloud, &["account", "get-access-token"]);
        check_token(
            &output,
            access_token,
            expect.as_ref(),
            error,
            "account get-access-token",
        )?;
        let mut command = self.cloud.std_command();
        for variable in ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"] {
            command.env_remove(variable);
        }
        command.args(["aks", "list"]);
        // Nobody signed in: the credential chain's own error (it lists what it tried), and no ARM call.
        self.check_arm(command, expect.as_ref(), "", "aks list")?;
        let env = [("AZURE_CLOUD_NAME", "Emulator")];
        let output = get_token(self.cloud, "kubelogin-cache", &["-l", "azurecli"], &env);
        check_token(
            &output,
            kubelogin_token,
            expect.as_ref(),
            error,
            "kubelogin -l azurecli",
        )
    }
}

fn require(condition: bool, what: &str, output: &Output) -> Result<(), String> {
    if condition {
        return Ok(());
    }
    Err(format!(
        "{what} failed: exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    ))
}

fn access_token(output: &Output) -> Value {
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    jwt_claims(printed["accessToken"].as_str().unwrap_or_default())
}

fn kubelogin_token(output: &Output) -> Value {
    claims(&credential(output))
}

/// `output` served a token for `expect` (`oid`, `tid`), or failed with `error` when nobody is expected.
fn check_token(
    output: &Output,
    claims_of: fn(&Output) -> Value,
    expect: Option<&(String, String)>,
    error: &str,
    what: &str,
) -> Result<(), String> {
    let Some((oid, tid)) = expect else {
        let refused = output.status.code() == Some(1) && stderr(output).contains(error);
        return require(
            refused,
            &format!("{what}: expected exit 1 with {error:?}"),
            output,
        );
    };
    require(
        output.status.success(),
        &format!("{what}: expected a token"),
        output,
    )?;
    let claims = claims_of(output);
    let served = (claims["oid"].clone(), claims["tid"].clone());
    require(
        served == (json!(oid), json!(tid)),
        &format!("{what}: STALE token for {served:?}, expected {oid}/{tid}"),
        output,
    )
}

#[test]
fn randomised_logins_logouts_switches_and_rotations_never_serve_a_stale_token() {
    let cloud = cloud();
    let cycles: u64 = std::env::var("AKSCTL_IDENTITY_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("AKSCTL_IDENTITY_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x1d_c7c1e5);
    let (logins, principals) = logins(&cloud);
    let mut run = Cycles {
        cloud: &cloud,
        logins,
        principals,
        profile: Profile::default(),
        rng: Rng(seed),
    };
    for cycle in 1..=cycles {
        let result = run.step().and_then(|step| {
            run.check()
                .map_err(|error| format!("after {step}: {error}"))
        });
        if let Err(error) = result {
            panic!(
                "cycle {cycle} of {cycles} (AKSCTL_IDENTITY_SEED={seed}), profile {:?}: {error}",
                run.profile
            );
        }
    }
}
