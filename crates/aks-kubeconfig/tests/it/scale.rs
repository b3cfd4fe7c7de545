//! Large files: 50,000 contexts parse, merge and write back whole. How fast (and that the time grows linearly with
//! the file) is measured by scripts/bench.sh ("merge one cluster into a kubeconfig of N contexts", 500 to 50,000
//! contexts, in BENCHMARKS.md), not asserted here: a wall-clock limit in a test proves nothing on a loaded machine.

use aks_kubeconfig::{
    Cluster, Field, Kubeconfig, NamedCluster, NamedContext, NamedUser, User, az_merge,
};

fn big(count: usize, prefix: &str) -> Kubeconfig {
    let mut document = Kubeconfig {
        clusters: Field::Present(
            (0..count)
                .map(|index| {
                    NamedCluster::new(
                        format!("{prefix}{index}"),
                        Cluster::with_server(format!("https://{prefix}{index}.example:443")),
                    )
                })
                .collect(),
        ),
        contexts: Field::Present(
            (0..count)
                .map(|index| {
                    NamedContext::new(
                        format!("{prefix}{index}"),
                        format!("{prefix}{index}"),
                        format!("user-{prefix}{index}"),
                    )
                })
                .collect(),
        ),
        users: Field::Present(
            (0..count)
                .map(|index| NamedUser::new(format!("user-{prefix}{index}"), User::default()))
                .collect(),
        ),
        ..Kubeconfig::default()
    };
    document.set_current_context(&format!("{prefix}0"));
    document
}

#[test]
fn fifty_thousand_contexts_parse_merge_and_write_back_whole() {
    let text = big(50_000, "c").to_yaml();
    let names: Vec<String> = (0..50_000).map(|index| format!("c{index}")).collect();

    let existing = Kubeconfig::parse(&text).unwrap().unwrap();
    assert_eq!(existing.context_names(), names);
    assert_eq!(existing.cluster_names(), names);

    // Overwrite all 50,000 names in reverse order (the worst case for naive removal): az's rule moves each
    // replaced entry to the end, in the addition's order, without asking (overwrite), so the result is the
    // reversed list, each name once.
    let mut addition = big(50_000, "c");
    if let Some(list) = addition.clusters.as_mut() {
        list.reverse();
    }
    if let Some(list) = addition.contexts.as_mut() {
        list.reverse();
    }
    if let Some(list) = addition.users.as_mut() {
        list.reverse();
    }
    let mut questions = 0;
    let merged = az_merge(Some(existing), addition, true, &mut |_| {
        questions += 1;
        false
    })
    .unwrap();
    let reversed: Vec<String> = names.iter().rev().cloned().collect();
    assert_eq!(merged.context_names(), reversed);
    assert_eq!(merged.cluster_names(), reversed);
    assert_eq!(merged.user_names().len(), 50_000);

    // One new cluster without --overwrite-existing: appended last, current, nothing asked (no same name).
    let merged = az_merge(Some(merged), big(1, "new"), false, &mut |_| {
        questions += 1;
        false
    })
    .unwrap();
    assert_eq!(questions, 0, "no entry was a conflict");
    let contexts = merged.context_names();
    assert_eq!(contexts.len(), 50_001);
    assert_eq!(contexts.last().map(String::as_str), Some("new0"));
    assert_eq!(merged.current_context(), Some("new0"));

    // Written and read back: the same document.
    let written = merged.to_yaml();
    let reread = Kubeconfig::parse(&written).unwrap().unwrap();
    assert_eq!(reread.context_names(), contexts);
    assert_eq!(reread.user_names(), merged.user_names());
    assert_eq!(reread.to_yaml(), written);
}
