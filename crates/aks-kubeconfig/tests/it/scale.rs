//! Large files: 50,000 contexts parse, merge and write quickly (release: well under a second each).

use aks_kubeconfig::{
    Cluster, Field, Kubeconfig, NamedCluster, NamedContext, NamedUser, User, az_merge,
};
use std::time::{Duration, Instant};

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
fn fifty_thousand_contexts_parse_and_merge_fast() {
    let limit = if cfg!(debug_assertions) {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(1)
    };
    let text = big(50_000, "c").to_yaml();

    let started = Instant::now();
    let existing = Kubeconfig::parse(&text).unwrap().unwrap();
    let parse_time = started.elapsed();
    assert_eq!(existing.context_names().len(), 50_000);

    // Overwrite all 50,000 names in reverse order (the worst case for naive removal), then add one.
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
    let started = Instant::now();
    let merged = az_merge(Some(existing), addition, true, &mut |_| false).unwrap();
    let merge_time = started.elapsed();
    let started = Instant::now();
    let merged = az_merge(Some(merged), big(1, "new"), false, &mut |_| false).unwrap();
    let small_merge_time = started.elapsed();
    assert_eq!(merged.context_names().len(), 50_001);

    let started = Instant::now();
    let written = merged.to_yaml();
    let write_time = started.elapsed();
    assert!(written.len() > text.len());

    eprintln!(
        "50,000 contexts: parse {parse_time:?}, merge of 50,000 {merge_time:?}, merge of 1 {small_merge_time:?}, to_yaml {write_time:?}"
    );
    for (what, time) in [
        ("parse", parse_time),
        ("merge", merge_time),
        ("small merge", small_merge_time),
        ("to_yaml", write_time),
    ] {
        assert!(time < limit, "{what} of 50,000 contexts took {time:?}");
    }
}
