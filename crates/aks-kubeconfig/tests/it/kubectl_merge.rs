//! kubectl's read-merge of a KUBECONFIG list, and splitting the variable.

use crate::support::parse;
use aks_kubeconfig::{
    first_kubeconfig_env_entry, kubectl_merge, split_kubeconfig_env,
    split_kubeconfig_env_with_empty,
};
use std::path::{Path, PathBuf};

#[test]
fn first_file_that_sets_a_name_wins_and_origins_are_kept() {
    let a = parse(
        "clusters:\n- name: shared\n  cluster: {server: https://a}\ncontexts:\n- name: ctx-a\n  context: {cluster: shared, user: u}\ncurrent-context: ''\nusers:\n- name: u\n  user: {token: from-a}\npreferences: {}\n",
    );
    let b = parse(
        "clusters:\n- name: shared\n  cluster: {server: https://b}\n- name: only-b\n  cluster: {server: https://ob}\ncontexts:\n- name: ctx-b\n  context: {cluster: only-b, user: u}\ncurrent-context: ctx-b\nusers:\n- name: u\n  user: {token: from-b}\n- name: ub\n  user: {token: x}\nkind: Config\n",
    );
    let c = parse("current-context: ctx-a\n");
    let merged = kubectl_merge(&[
        (PathBuf::from("/a"), a),
        (PathBuf::from("/b"), b),
        (PathBuf::from("/c"), c),
    ]);
    assert_eq!(merged.config.cluster_names(), ["shared", "only-b"]);
    assert_eq!(merged.config.cluster_server("shared"), Some("https://a"));
    assert_eq!(merged.config.context_names(), ["ctx-a", "ctx-b"]);
    assert_eq!(merged.config.user_names(), ["u", "ub"]);
    assert_eq!(
        merged.config.current_context(),
        Some("ctx-b"),
        "first non-empty wins"
    );
    assert_eq!(merged.current_context_origin(), Some(Path::new("/b")));
    assert_eq!(merged.cluster_origin("shared"), Some(Path::new("/a")));
    assert_eq!(merged.cluster_origin("only-b"), Some(Path::new("/b")));
    assert_eq!(merged.context_origin("ctx-b"), Some(Path::new("/b")));
    assert_eq!(merged.user_origin("u"), Some(Path::new("/a")));
    assert_eq!(merged.user_origin("ub"), Some(Path::new("/b")));
    assert_eq!(merged.user_origin("nobody"), None);
    assert!(merged.config.other.contains_key("preferences"));
    assert!(merged.config.other.contains_key("kind"));
}

#[test]
fn empty_list_merges_to_empty_lists() {
    let merged = kubectl_merge(&[]);
    assert!(merged.config.cluster_names().is_empty());
    assert_eq!(merged.config.current_context(), None);
}

#[cfg(unix)]
#[test]
fn kubeconfig_env_splitting() {
    assert_eq!(
        split_kubeconfig_env("/a::/b:/a:"),
        [PathBuf::from("/a"), PathBuf::from("/b")]
    );
    assert_eq!(
        split_kubeconfig_env_with_empty(":/a"),
        [PathBuf::from(""), PathBuf::from("/a")]
    );
    assert_eq!(
        first_kubeconfig_env_entry("/x/config:/y"),
        Some(PathBuf::from("/x/config"))
    );
    assert_eq!(first_kubeconfig_env_entry(":/a"), None);
    assert_eq!(first_kubeconfig_env_entry(""), None);
    assert!(split_kubeconfig_env("").is_empty());
}
