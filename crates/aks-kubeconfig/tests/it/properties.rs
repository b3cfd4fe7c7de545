//! Property tests: random documents round-trip, and az's merge is idempotent.

use aks_kubeconfig::{
    AuthProvider, Cluster, Context, ExecConfig, ExecEnvVar, Extra, Field, Kubeconfig, NamedCluster,
    NamedContext, NamedUser, User, az_merge,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::Value;

const TRICKY: &[&str] = &[
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "~",
    "null",
    "Null",
    "1e3",
    "0x1F",
    "012",
    "0o17",
    "2024-01-01",
    ".inf",
    "-.inf",
    ".nan",
    "NO",
    "True",
    "",
    " lead",
    "trail ",
    "a: b",
    "#x",
    "- x",
    "1:20",
    "=",
    "<<",
    "\nkubelogin\n\nhint\n",
    "tab\there",
    "\u{7}",
    "\u{feff}bom",
    "\u{85}nel",
    "'",
    "\"",
    "\\",
    "{}",
    "[]",
    "@at",
    "`tick",
    "%pct",
    "!bang",
    "&amp",
    "*star",
    "|",
    ">",
    "?",
    "-",
    "---",
    "...",
    "0",
    "-0",
    "+1",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => proptest::sample::select(TRICKY).prop_map(str::to_owned),
        1 => "[a-z0-9.-]{0,12}",
    ]
}

fn field<T: std::fmt::Debug + Clone + 'static>(
    inner: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Field<T>> {
    prop_oneof![
        1 => Just(Field::Absent),
        1 => Just(Field::Null),
        4 => inner.prop_map(Field::Present),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Unknown keys: prefixed so they never collide with a modelled key of the same level.
fn extra() -> impl Strategy<Value = Extra> {
    btree_map(
        text().prop_map(|key| format!("x-{key}")),
        json_value(),
        0..3,
    )
    .prop_map(|map| map.into_iter().collect())
}

fn cluster() -> impl Strategy<Value = Cluster> {
    (field(text()), extra()).prop_map(|(server, other)| Cluster { server, other })
}

fn context() -> impl Strategy<Value = Context> {
    (field(text()), field(text()), field(text()), extra()).prop_map(
        |(cluster, user, namespace, other)| Context {
            cluster,
            user,
            namespace,
            other,
        },
    )
}

fn exec() -> impl Strategy<Value = ExecConfig> {
    (
        (field(text()), field(text()), field(vec(text(), 0..5))),
        field(vec(
            (field(text()), field(text()), extra()).prop_map(|(name, value, other)| ExecEnvVar {
                name,
                value,
                other,
            }),
            0..3,
        )),
        (field(text()), field(any::<bool>()), field(text()), extra()),
    )
        .prop_map(
            |(
                (api_version, command, args),
                env,
                (install_hint, provide_cluster_info, interactive_mode, other),
            )| {
                ExecConfig {
                    api_version,
                    command,
                    args,
                    env,
                    install_hint,
                    provide_cluster_info,
                    interactive_mode,
                    other,
                }
            },
        )
}

fn user() -> impl Strategy<Value = User> {
    let provider = (
        field(text()),
        field(
            btree_map(text(), text().prop_map(Value::String), 0..4)
                .prop_map(|map| map.into_iter().collect()),
        ),
        extra(),
    )
        .prop_map(|(name, config, other)| AuthProvider {
            name,
            config,
            other,
        });
    (field(exec()), field(provider), extra()).prop_map(|(exec, auth_provider, other)| User {
        exec,
        auth_provider,
        other,
    })
}

fn name() -> impl Strategy<Value = Field<String>> {
    field(text())
}

fn document() -> impl Strategy<Value = Kubeconfig> {
    (
        field(vec(
            (name(), field(cluster()), extra()).prop_map(|(name, cluster, other)| NamedCluster {
                name,
                cluster,
                other,
            }),
            0..4,
        )),
        field(vec(
            (name(), field(context()), extra()).prop_map(|(name, context, other)| NamedContext {
                name,
                context,
                other,
            }),
            0..4,
        )),
        field(vec(
            (name(), field(user()), extra()).prop_map(|(name, user, other)| NamedUser {
                name,
                user,
                other,
            }),
            0..4,
        )),
        field(text()),
        extra(),
    )
        .prop_map(
            |(clusters, contexts, users, current_context, other)| Kubeconfig {
                clusters,
                contexts,
                users,
                current_context,
                other,
            },
        )
}

/// Keeps the first entry of each name (kubectl rejects files with duplicates) and names every entry.
fn unique_named<T: aks_kubeconfig::NamedEntry>(list: &mut Field<Vec<T>>) {
    if let Some(items) = list.as_mut() {
        let mut seen = std::collections::HashSet::new();
        items.retain(|item| item.name().is_some_and(|name| seen.insert(name.to_owned())));
    }
}

/// Documents whose entries are all named from a small pool, so additions overlap existing entries.
fn mergeable() -> impl Strategy<Value = Kubeconfig> {
    let pool = || {
        proptest::sample::select(&["a", "b", "c", "d"][..])
            .prop_map(|name| Field::Present(name.to_owned()))
    };
    (
        field(vec(
            (pool(), field(cluster())).prop_map(|(name, cluster)| NamedCluster {
                name,
                cluster,
                other: Extra::new(),
            }),
            0..4,
        )),
        field(vec(
            (pool(), field(context())).prop_map(|(name, context)| NamedContext {
                name,
                context,
                other: Extra::new(),
            }),
            0..4,
        )),
        field(vec(
            (pool(), field(user())).prop_map(|(name, user)| NamedUser {
                name,
                user,
                other: Extra::new(),
            }),
            0..4,
        )),
        field(text()),
    )
        .prop_map(|(clusters, contexts, users, current_context)| {
            let mut document = Kubeconfig {
                clusters,
                contexts,
                users,
                current_context,
                other: Extra::new(),
            };
            unique_named(&mut document.clusters);
            unique_named(&mut document.contexts);
            unique_named(&mut document.users);
            document
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_documents_round_trip(document in document()) {
        let written = document.to_yaml();
        let reread = Kubeconfig::parse(&written)
            .map_err(|error| TestCaseError::fail(format!("{}\n{written}", error.detail())))?;
        prop_assert_eq!(reread.as_ref(), Some(&document), "{}", written);
    }

    #[test]
    fn to_yaml_writes_the_sorted_json_value(document in document()) {
        prop_assert_eq!(document.to_yaml(), crate::support::yaml_via_json(&document));
    }

    #[test]
    fn az_merge_is_idempotent(
        existing in proptest::option::of(mergeable()),
        addition in mergeable(),
        overwrite in any::<bool>(),
        answer in any::<bool>(),
    ) {
        let mut confirm = |_: &str| answer;
        if let Ok(once) = az_merge(existing, addition.clone(), overwrite, &mut confirm) {
            let twice = az_merge(Some(once.clone()), addition, overwrite, &mut confirm)
                .map_err(|error| TestCaseError::fail(format!("second merge failed: {error}")))?;
            prop_assert_eq!(twice, once);
        }
    }
}
