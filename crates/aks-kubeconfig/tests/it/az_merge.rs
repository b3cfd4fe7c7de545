//! az's renaming and write-merge, including ports of az's unit tests (docs/az-behaviour.md "The merge",
//! `acs/tests/latest/test_custom.py`, class `AcsCustomCommandTest`). File-level ports live in `files.rs`.

use crate::support::{never_asked, parse};
use aks_kubeconfig::{Field, Kubeconfig, MergeError, az_merge, az_rename};

fn first<T: Clone>(list: &Field<Vec<T>>) -> T {
    list.as_ref().unwrap()[0].clone()
}

fn names(list: &Field<Vec<impl aks_kubeconfig::NamedEntry>>) -> Vec<String> {
    list.as_ref()
        .into_iter()
        .flatten()
        .map(|entry| entry.name().unwrap_or("<unnamed>").to_owned())
        .collect()
}

/// `obj1` of `test_merge_credentials` (PyYAML `safe_dump` output).
const MERGE_EXISTING: &str = r#"clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: cluster1
contexts:
- context:
    cluster: aztest
    user: clusterUser_aztest_aztest
  name: context1
current-context: context1
kind: Config
preferences: {}
users:
- name: user1
  user:
    client-certificate-data: clientcertificatedata1
    client-key-data: clientkeydata1
    token: token1
"#;

/// `obj2` of `test_merge_credentials`.
const MERGE_ADDITION: &str = r#"clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: cluster2
contexts:
- context:
    cluster: aztest
    user: clusterUser_aztest_aztest
  name: context2
current-context: aztest
kind: Config
preferences: {}
users:
- name: user2
  user:
    client-certificate-data: clientcertificatedata1
    client-key-data: clientkeydata1
    token: token1
"#;

#[test]
fn test_merge_credentials() {
    let existing = parse(MERGE_EXISTING);
    let addition = parse(MERGE_ADDITION);
    let merged = az_merge(
        Some(existing.clone()),
        addition.clone(),
        false,
        &mut never_asked,
    )
    .unwrap();
    let cluster_list = merged.clusters.as_ref().unwrap();
    assert_eq!(
        cluster_list,
        &vec![first(&existing.clusters), first(&addition.clusters)]
    );
    let context_list = merged.contexts.as_ref().unwrap();
    assert_eq!(
        context_list,
        &vec![first(&existing.contexts), first(&addition.contexts)]
    );
    let user_list = merged.users.as_ref().unwrap();
    assert_eq!(
        user_list,
        &vec![first(&existing.users), first(&addition.users)]
    );
    // Copied even though no context has that name.
    assert_eq!(merged.current_context(), Some("aztest"));
}

#[test]
fn test_merge_admin_credentials() {
    let existing = parse(
        r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: aztest
contexts:
- context:
    cluster: aztest
    user: clusterUser_aztest_aztest
  name: aztest
current-context: aztest
kind: Config
preferences: {}
users:
- name: clusterUser_aztest_aztest
  user:
    client-certificate-data: clientcertificatedata1
    client-key-data: clientkeydata1
    token: token1
"#,
    );
    let mut addition = parse(
        r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: aztest
contexts:
- context:
    cluster: aztest
    user: clusterAdmin_aztest_aztest
  name: aztest
current-context: aztest
kind: Config
preferences: {}
users:
- name: clusterAdmin_aztest_aztest
  user:
    client-certificate-data: someclientcertificatedata2
    client-key-data: someclientkeydata2
    token: token2
"#,
    );
    az_rename(&mut addition, None);
    let merged = az_merge(Some(existing), addition, false, &mut never_asked).unwrap();
    assert_eq!(
        names(&merged.clusters),
        ["aztest"],
        "identical cluster deduplicated"
    );
    assert_eq!(
        merged.cluster_server("aztest"),
        Some("https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443")
    );
    assert_eq!(names(&merged.contexts), ["aztest", "aztest-admin"]);
    assert_eq!(
        merged.context("aztest").unwrap().user,
        "clusterUser_aztest_aztest"
    );
    assert_eq!(
        merged.context("aztest-admin").unwrap().user,
        "clusterAdmin_aztest_aztest"
    );
    assert_eq!(merged.context("aztest-admin").unwrap().cluster, "aztest");
    assert_eq!(
        names(&merged.users),
        ["clusterUser_aztest_aztest", "clusterAdmin_aztest_aztest"]
    );
    assert_eq!(merged.current_context(), Some("aztest-admin"));
}

#[test]
fn test_merge_credentials_missing() {
    let existing = parse(
        r#"clusters: null
contexts:
- context:
    cluster: aztest
    user: clusterUser_aztest_aztest
  name: context1
current-context: context1
kind: Config
preferences: {}
users:
- name: user1
  user:
    client-certificate-data: clientcertificatedata1
    client-key-data: clientkeydata1
    token: token1
"#,
    );
    let addition = parse(
        r#"clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://aztest-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: cluster2
contexts:
- context:
    cluster: aztest
    user: clusterUser_aztest_aztest
  name: context2
current-context: context2
kind: Config
preferences: {}
users: null
"#,
    );
    let merged = az_merge(
        Some(existing.clone()),
        addition.clone(),
        false,
        &mut never_asked,
    )
    .unwrap();
    assert_eq!(
        merged.clusters, addition.clusters,
        "null existing list replaced"
    );
    assert_eq!(names(&merged.contexts), ["context1", "context2"]);
    assert_eq!(
        merged.users, existing.users,
        "null addition list leaves users alone"
    );
    assert_eq!(merged.current_context(), Some("context2"));
}

const PRESENT_EXISTING: &str = r#"clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://cluster1-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: cluster1
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://cluster2-aztest-abc123-abcd1234.hcp.eastus.azmk8s.io:443
  name: cluster2
contexts:
- context:
    cluster: cluster1
    user: cluster1User_aztest_aztest
  name: context1
- context:
    cluster: cluster1
    user: cluster1User_aztest_aztest
  name: context2
current-context: context1
users:
- name: cluster1User_aztest_aztest
  user:
    client-certificate-data: someclientcertificatedata2
    client-key-data: someclientkeydata2
    token: token2
- name: cluster2User_aztest_aztest
  user:
    client-certificate-data: someclientcertificatedata2
    client-key-data: someclientkeydata2
    token: token2
"#;

const PRESENT_ADDITION: &str = r#"clusters:
- cluster:
    certificate-authority-data: certificateauthoritydata1
    server: https://other2-aztest-abc456-abcd4567.hcp.eastus.azmk8s.io:443
  name: cluster2
contexts:
- context:
    cluster: cluster2
    user: cluster1_aztest_aztest
  name: context2
current-context: some-context
users:
- name: cluster2User_aztest_aztest
  user:
    client-certificate-data: someclientcertificatedata2
    client-key-data: someclientkeydata2
    token: token3
"#;

#[test]
fn test_merge_credentials_already_present() {
    let existing = parse(PRESENT_EXISTING);
    let addition = parse(PRESENT_ADDITION);

    // No TTY: the question is answered "no" → az's CLIError for the first key processed (clusters).
    let mut asked = Vec::new();
    let error = az_merge(
        Some(existing.clone()),
        addition.clone(),
        false,
        &mut |name| {
            asked.push(name.to_owned());
            false
        },
    )
    .unwrap_err();
    assert_eq!(
        error,
        MergeError::Conflict {
            key: "clusters".into(),
            name: "cluster2".into()
        }
    );
    assert_eq!(asked, ["cluster2"]);
    assert_eq!(
        error.to_string(),
        "a different object named cluster2 already exists in clusters"
    );

    let merged = az_merge(
        Some(existing.clone()),
        addition.clone(),
        true,
        &mut never_asked,
    )
    .unwrap();
    let clusters = vec![first(&existing.clusters), first(&addition.clusters)];
    assert_eq!(merged.clusters.as_ref().unwrap(), &clusters);
    let contexts = vec![first(&existing.contexts), first(&addition.contexts)];
    assert_eq!(merged.contexts.as_ref().unwrap(), &contexts);
    let users = vec![first(&existing.users), first(&addition.users)];
    assert_eq!(merged.users.as_ref().unwrap(), &users);
    assert_eq!(merged.current_context(), Some("some-context"));
}

#[test]
fn answering_yes_overwrites_like_the_flag() {
    let existing = parse(PRESENT_EXISTING);
    let addition = parse(PRESENT_ADDITION);
    let mut asked = Vec::new();
    let confirmed = az_merge(
        Some(existing.clone()),
        addition.clone(),
        false,
        &mut |name| {
            asked.push(name.to_owned());
            true
        },
    )
    .unwrap();
    assert_eq!(
        asked,
        ["cluster2", "cluster2User_aztest_aztest", "context2"],
        "order clusters, users, contexts"
    );
    let flagged = az_merge(Some(existing), addition, true, &mut never_asked).unwrap();
    assert_eq!(confirmed, flagged);
}

#[test]
fn conflict_in_users_is_reported_for_users() {
    let existing = parse("clusters: []\ncontexts: []\nusers:\n- name: u\n  user:\n    token: a\n");
    let addition = parse("users:\n- name: u\n  user:\n    token: b\n");
    let error = az_merge(Some(existing), addition, false, &mut |_| false).unwrap_err();
    assert_eq!(
        error,
        MergeError::Conflict {
            key: "users".into(),
            name: "u".into()
        }
    );
}

#[test]
fn missing_key_in_existing_is_an_error() {
    let existing = parse("contexts: []\nusers: []\ncurrent-context: ''\n");
    let addition = parse(MERGE_ADDITION);
    let error = az_merge(Some(existing), addition, false, &mut never_asked).unwrap_err();
    assert_eq!(
        error,
        MergeError::MissingKey {
            key: "clusters".into()
        }
    );
    // An addition without entries for that key never looks at it.
    let existing = parse("users: []\n");
    let addition = parse("users:\n- name: u\n  user: {}\ncurrent-context: c\n");
    let merged = az_merge(Some(existing), addition, false, &mut never_asked).unwrap();
    assert_eq!(names(&merged.users), ["u"]);
    assert_eq!(merged.clusters, Field::Absent);
}

#[test]
fn empty_existing_file_becomes_the_addition() {
    let addition = parse(MERGE_ADDITION);
    let merged = az_merge(None, addition.clone(), false, &mut never_asked).unwrap();
    assert_eq!(merged, addition);
}

#[test]
fn identical_entries_are_deduplicated_and_move_to_the_end() {
    let existing = parse(
        "clusters:\n- name: a\n  cluster: {server: https://a}\n- name: b\n  cluster: {server: https://b}\ncontexts: []\nusers: []\n",
    );
    let addition =
        parse("clusters:\n- name: a\n  cluster: {server: https://a}\ncurrent-context: a\n");
    let merged = az_merge(Some(existing), addition, false, &mut never_asked).unwrap();
    assert_eq!(names(&merged.clusters), ["b", "a"]);
}

#[test]
fn entries_without_a_name_are_never_compared() {
    let existing = parse(
        "clusters:\n- cluster: {server: https://x}\n- name: ''\n  cluster: {}\ncontexts: []\nusers: []\n",
    );
    let addition =
        parse("clusters:\n- cluster: {server: https://y}\n- name: ''\n  cluster: {server: z}\n");
    let merged = az_merge(Some(existing), addition, false, &mut never_asked).unwrap();
    assert_eq!(merged.clusters.as_ref().map(Vec::len), Some(4));
}

#[test]
fn a_missing_addition_current_context_keeps_the_existing_one() {
    let existing = parse(MERGE_EXISTING);
    let addition = parse("clusters:\n- name: z\n  cluster: {}\n");
    let merged = az_merge(Some(existing), addition, false, &mut never_asked).unwrap();
    assert_eq!(merged.current_context(), Some("context1"));
}

#[test]
fn python_removal_while_iterating_skips_the_next_duplicate() {
    // az's `for j in existing[key]: ... existing[key].remove(j)` skips the entry after a removed one.
    let existing = parse(
        "clusters:\n- name: a\n  cluster: {server: '1'}\n- name: a\n  cluster: {server: '2'}\n- name: a\n  cluster: {server: '3'}\ncontexts: []\nusers: []\n",
    );
    let addition = parse("clusters:\n- name: a\n  cluster: {server: new}\n");
    let merged = az_merge(Some(existing), addition, true, &mut never_asked).unwrap();
    let servers: Vec<_> = merged
        .clusters
        .as_ref()
        .unwrap()
        .iter()
        .map(|entry| {
            entry
                .cluster
                .as_ref()
                .unwrap()
                .server
                .as_ref()
                .unwrap()
                .clone()
        })
        .collect();
    // Python: remove '1', skip '2', remove '3', append 'new'.
    assert_eq!(servers, ["2", "new"]);
}

#[test]
fn rename_with_context_name() {
    let mut addition = parse(
        "clusters:\n- name: aks1\n  cluster: {server: https://s}\ncontexts:\n- name: aks1\n  context: {cluster: aks1, user: clusterUser_rg_aks1}\ncurrent-context: aks1\nusers:\n- name: clusterUser_rg_aks1\n  user: {token: t}\n",
    );
    az_rename(&mut addition, Some("mine"));
    assert_eq!(addition.cluster_names(), ["mine"]);
    assert_eq!(addition.context_names(), ["mine"]);
    assert_eq!(addition.context("mine").unwrap().cluster, "mine");
    assert_eq!(
        addition.user_names(),
        ["clusterUser_rg_aks1"],
        "the user keeps its name"
    );
    assert_eq!(addition.current_context(), Some("mine"));
}

#[test]
fn rename_admin_after_context_name() {
    let mut addition = parse(
        "clusters:\n- name: aks1\n  cluster: {server: https://s}\ncontexts:\n- name: aks1\n  context: {cluster: aks1, user: clusterAdmin_rg_aks1}\ncurrent-context: aks1\nusers:\n- name: clusterAdmin_rg_aks1\n  user: {token: t}\n",
    );
    az_rename(&mut addition, Some("foo"));
    assert_eq!(addition.context_names(), ["foo-admin"]);
    assert_eq!(addition.cluster_names(), ["foo"]);
    assert_eq!(addition.context("foo-admin").unwrap().cluster, "foo");
    assert_eq!(addition.current_context(), Some("foo-admin"));

    let mut plain =
        parse("contexts:\n- name: c\n  context: {user: clusterUser_x}\ncurrent-context: c\n");
    az_rename(&mut plain, None);
    assert_eq!(plain.context_names(), ["c"]);
    assert_eq!(plain.current_context(), Some("c"));
}

#[test]
fn rename_tolerates_malformed_documents() {
    let mut empty = Kubeconfig::default();
    az_rename(&mut empty, Some("x"));
    assert_eq!(empty.current_context(), Some("x"));
}
