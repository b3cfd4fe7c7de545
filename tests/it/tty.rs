//! aksctl on a terminal (aks-test-support's `terminal`: a pseudo-terminal, so `isatty` is true as for a person at
//! a shell): the lockout question of `aks update` (docs/lockout.md), the progress line of `aks access check
//! --wait`, and az's subscription picker after `aksctl login` (docs/login.md, "The subscription picker"). The
//! expected screens are az 2.91's texts (Azure/azure-cli: `command_modules/profile/_subscription_selector.py`,
//! `custom.py`; knack `prompting.py` `prompt_y_n`).

use std::process::Command;

use aks_test_support::TestCloud;
use aks_test_support::terminal::{Finished, Streams, Terminal};
use serde_json::{Value, json};

use crate::{cloud, stderr};

/// The guest tenant the seeded user is invited to: the login reaches it with no subscription, so
/// `--allow-no-subscriptions` gives a second account (its tenant-level account).
const GUEST_TENANT: &str = "5e5e5e5e-0000-4000-8000-000000000002";

/// knack's `prompt_y_n` question, as `aks update` asks it before a lockout.
const CONFIRM: &str = "Are you sure you want to perform this operation? (y/n): ";

/// az's picker question.
const PICK: &str = "Select a subscription and tenant (Type a number or Enter for no changes): ";

/// A change that leaves no admin path on an AAD cluster without an admin group.
const UPDATE: &str = "aks update -g rg1 -n c1 --disable-local-accounts";

/// A command line's words.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// The cluster as ARM's GET answers it.
fn cluster(cloud: &TestCloud, name: &str) -> Value {
    let answer = cloud.arm(
        "GET",
        &format!(
            "/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/{name}?api-version=2026-08-01",
            cloud.ready().subscription_id
        ),
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

fn puts(cloud: &TestCloud) -> usize {
    let requests = cloud.requests();
    requests.iter().filter(|r| r["method"] == "PUT").count()
}

fn aksctl(cloud: &TestCloud, args: &[&str]) -> Command {
    let mut command = cloud.std_command();
    command.args(args);
    command
}

/// `aks update --disable-local-accounts` on an AAD cluster with no admin group (no admin path would remain), on a
/// terminal, answered with `answer` (`None`: Ctrl-D).
fn update_answering(cloud: &TestCloud, answer: Option<&str>) -> Finished {
    let command = aksctl(cloud, &words(UPDATE));
    let mut terminal = Terminal::start(command, Streams::All);
    let asked = terminal.expect(CONFIRM);
    assert!(
        asked.contains("This change would leave cluster 'c1' without an admin path:\n"),
        "{asked}"
    );
    assert!(asked.ends_with(&format!("\n{CONFIRM}")), "{asked}");
    match answer {
        Some(answer) => terminal.send_line(answer),
        None => terminal.send_eof(),
    }
    terminal.finish()
}

#[test]
fn the_lockout_question_changes_the_cluster_only_on_yes() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    cloud.run_json(&words("aks create -g rg1 -n c1 --enable-aad --no-ssh-key"));
    let before = cluster(&cloud, "c1");
    for answer in [Some("n"), Some("N"), None] {
        cloud.clear_requests();
        let finished = update_answering(&cloud, answer);
        assert_eq!(finished.status.code(), Some(1), "{}", finished.screen);
        // The typed answer is echoed with its Enter; Ctrl-D is not echoed.
        let typed = answer
            .map(|answer| format!("{answer}\n"))
            .unwrap_or_default();
        assert!(
            finished.screen.ends_with(&format!(
                "{CONFIRM}{typed}ERROR: Nothing was changed; pass --yes to make the change anyway.\n"
            )),
            "{answer:?}: {}",
            finished.screen
        );
        assert_eq!(puts(&cloud), 0, "no PUT after {answer:?}");
        assert_eq!(cluster(&cloud, "c1"), before, "unchanged after {answer:?}");
    }

    // Anything but y or n is asked again (the whole message, as knack's prompt_y_n repeats it); y makes the change.
    let command = aksctl(&cloud, &words(UPDATE));
    let mut terminal = Terminal::start(command, Streams::StdoutPiped);
    terminal.expect(CONFIRM);
    terminal.send_line("yes");
    terminal.expect("yes\nThis change would leave cluster 'c1' without an admin path:\n");
    terminal.expect(CONFIRM);
    terminal.send_line("y");
    let finished = terminal.finish();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.screen);
    let printed: Value = serde_json::from_slice(&finished.stdout).unwrap();
    assert_eq!(printed["disableLocalAccounts"], true);
    assert_eq!(
        cluster(&cloud, "c1")["properties"]["disableLocalAccounts"],
        true
    );
}

#[test]
fn access_check_wait_shows_progress_on_a_terminal_only() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    let check = || {
        let mut command = aksctl(
            &cloud,
            &[
                "aks", "access", "check", "-g", "rg1", "-n", "c1", "-o", "json", "--wait", "3s",
            ],
        );
        command
            .env("AZURE_CLIENT_ID", &ready.nonadmin_client_id)
            .env("AZURE_CLIENT_SECRET", &ready.nonadmin_client_secret);
        command
    };

    // stderr on a terminal, the report piped: the progress line is drawn, the report is still JSON.
    let finished = Terminal::start(check(), Streams::StdoutPiped).finish();
    assert_eq!(finished.status.code(), Some(1), "{}", finished.screen);
    assert!(
        finished.screen.contains("Waiting for access: ")
            && finished.screen.contains("; next check in 2s"),
        "{}",
        finished.screen
    );
    let report: Value = serde_json::from_slice(&finished.stdout).unwrap();
    assert_eq!(report["azure"]["listClusterUserCredential"], false);

    // Piped: no progress line, only the verdict.
    let output = check().output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(!err.contains("Waiting for access"), "{err}");
    assert!(err.contains("ERROR: "), "{err}");
}

/// `aksctl login --use-device-code --allow-no-subscriptions` as a person on a terminal: the code is approved for
/// the seeded user once it is shown; returns the terminal at the picker's question (or at the end) and the
/// screen from the line after the sign-in.
fn login_on_terminal(cloud: &TestCloud, until: &str) -> (Terminal, String) {
    let mut command = aksctl(
        cloud,
        &["login", "--use-device-code", "--allow-no-subscriptions"],
    );
    for variable in ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"] {
        command.env_remove(variable);
    }
    let mut terminal = Terminal::start(command, Streams::All);
    let shown = terminal.expect(" to authenticate.\n");
    let code = shown
        .rsplit("enter the code ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    cloud.management(
        "POST",
        "devicecode/approve",
        Some(json!({"user_code": code, "user": cloud.ready().user_name})),
    );
    let screen = terminal.expect(until);
    let after = screen[shown.len()..].to_string();
    (terminal, after)
}

/// The seeded user, also a guest of [`GUEST_TENANT`].
fn cloud_with_a_guest_tenant() -> TestCloud {
    let cloud = cloud();
    cloud.management(
        "POST",
        "tenants",
        Some(json!({"tenantId": GUEST_TENANT, "displayName": "Guest Tenant"})),
    );
    cloud.management(
        "POST",
        &format!("tenants/{GUEST_TENANT}/guests"),
        Some(json!({"userPrincipalName": cloud.ready().user_name})),
    );
    cloud
}

/// az's `azureProfile.json` of the sandbox: (id, isDefault) of each entry.
fn defaults(cloud: &TestCloud) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(cloud.home().join(".azure/azureProfile.json")).unwrap();
    let profile: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
    profile["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["id"].as_str().unwrap().to_owned(),
                entry["isDefault"] == true,
            )
        })
        .collect()
}

/// az 2.91's screen up to the question, with the default on row `default` (1 or 2): recorded from the real az
/// signing in to the emulator on a terminal (`scripts/az-login-picker.sh`); aksctl names itself where az says
/// `az login`.
fn picker_screen(default: usize) -> String {
    let (one, two) = if default == 1 {
        ("[1] *", "[2]  ")
    } else {
        ("[1]  ", "[2] *")
    };
    let (name, id, tenant) = if default == 1 {
        (
            "Emulated Subscription",
            "00000000-0000-0000-0000-0000000000aa",
            "Emulated Tenant",
        )
    } else {
        ("N/A(tenant level account)", GUEST_TENANT, GUEST_TENANT)
    };
    format!(
        "\nRetrieving tenants and subscriptions for the selection...\n\
         WARNING: The following tenants don't contain accessible subscriptions. Use `aksctl login --allow-no-subscriptions` to have tenant level access.\n\
         WARNING: {GUEST_TENANT} 'Guest Tenant'\n\
         \n[Tenant and subscription selection]\n\n\
         No     Subscription name          Subscription ID                       Tenant\n\
         -----  -------------------------  ------------------------------------  ------------------------------------\n\
         {one}  Emulated Subscription      00000000-0000-0000-0000-0000000000aa  Emulated Tenant\n\
         {two}  N/A(tenant level account)  {GUEST_TENANT}  {GUEST_TENANT}\n\
         \nThe default is marked with an *; the default tenant is '{tenant}' and subscription is '{name}' ({id}).\n\
         \n{PICK}"
    )
}

/// The screen after the answer: the echo, az's announcement and warning.
fn picked_screen(tenant: &str, name: &str, id: &str) -> String {
    format!(
        "\nTenant: {tenant}\nSubscription: {name} ({id})\n\n\
         [Announcements]\n\
         With the new Azure CLI login experience, you can select the subscription you want to use more easily. Learn more about it and its configuration at https://go.microsoft.com/fwlink/?linkid=2271236\n\
         \n\
         If you encounter any problem, please open an issue at https://aka.ms/azclibug\n\
         \n\
         WARNING: [Warning] The login output has been updated. Please be aware that it no longer displays the full list of available subscriptions by default.\n\
         \n"
    )
}

#[test]
fn login_on_a_terminal_picks_the_default_subscription_as_az_does() {
    let cloud = cloud_with_a_guest_tenant();
    let subscription = cloud.ready().subscription_id.clone();

    // The first login: the first enabled subscription is the default; the person picks the tenant account.
    let (mut terminal, screen) = login_on_terminal(&cloud, PICK);
    assert_eq!(screen, picker_screen(1));
    terminal.send_line("2");
    let finished = terminal.finish();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.screen);
    let after = finished.screen.split(PICK).nth(1).unwrap();
    assert_eq!(
        after,
        format!(
            "2\n{}",
            picked_screen(GUEST_TENANT, "N/A(tenant level account)", GUEST_TENANT)
        ),
        "no JSON after the picker"
    );
    assert_eq!(
        defaults(&cloud),
        [
            (subscription.clone(), false),
            (GUEST_TENANT.to_owned(), true)
        ]
    );
    let clouds = std::fs::read_to_string(cloud.home().join(".azure/clouds.config")).unwrap();
    assert!(
        clouds.contains(&format!("subscription = {GUEST_TENANT}")),
        "{clouds}"
    );

    // The next login keeps that default; a wrong answer is refused and asked again, Enter changes nothing.
    let (mut terminal, screen) = login_on_terminal(&cloud, PICK);
    assert_eq!(screen, picker_screen(2));
    terminal.send_line("3");
    terminal.expect(&format!("3\nWARNING: Invalid selection.\n{PICK}"));
    terminal.send_line("");
    let finished = terminal.finish();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.screen);
    assert!(
        finished.screen.ends_with(&format!(
            "Invalid selection.\n{PICK}\n{}",
            picked_screen(GUEST_TENANT, "N/A(tenant level account)", GUEST_TENANT)
        )),
        "{}",
        finished.screen
    );
    assert_eq!(
        defaults(&cloud),
        [(subscription, false), (GUEST_TENANT.to_owned(), true)]
    );
}

#[test]
fn login_experience_v2_off_prints_the_list_on_a_terminal() {
    let cloud = cloud_with_a_guest_tenant();
    let azure = cloud.home().join(".azure");
    std::fs::create_dir_all(&azure).unwrap();
    // Appended: `aksctl cloud set` wrote az's `[cloud] name` there.
    let mut config = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(azure.join("config"))
        .unwrap();
    std::io::Write::write_all(&mut config, b"\n[core]\nlogin_experience_v2 = off\n").unwrap();
    let (terminal, _) = login_on_terminal(&cloud, "\n]\n");
    let finished = terminal.finish();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.screen);
    assert!(
        !finished
            .screen
            .contains("[Tenant and subscription selection]")
    );
    assert!(!finished.screen.contains("Retrieving"));
    let list = &finished.screen[finished.screen.find("\n[\n").unwrap() + 1..];
    let list: Value = serde_json::from_str(list).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [cloud.ready().subscription_id.as_str(), GUEST_TENANT]);
    assert_eq!(list[0]["isDefault"], true);
}
