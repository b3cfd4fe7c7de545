//! The kubeconfig document model: typed where aksctl reads or edits, catch-all maps everywhere else.

use crate::field::{Field, lenient_string, lenient_strings};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Keys and values a struct does not model; kept so a rewrite never drops them.
pub type Extra = Map<String, Value>;

/// The value `az aks get-credentials` prints when a kubeconfig has no `current-context`
/// (docs/az-behaviour.md, "Writing").
pub const UNKNOWN_CONTEXT: &str = "UNKNOWN";

/// A kubeconfig document.
///
/// Every level keeps what it does not model in an `other` map (top level, named entries, cluster, context and
/// user bodies, `exec`, `auth-provider`), and the lists and scalars it does model are [`Field`]s, so a missing
/// `clusters` key, `clusters: null` and `clusters: []` stay distinct (az's merge treats them differently,
/// docs/az-behaviour.md "The merge"). `apiVersion`, `kind` and `preferences` live in [`Kubeconfig::other`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Kubeconfig {
    /// `clusters`: named cluster entries.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub clusters: Field<Vec<NamedCluster>>,
    /// `contexts`: named context entries.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub contexts: Field<Vec<NamedContext>>,
    /// `users`: named user (auth info) entries.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub users: Field<Vec<NamedUser>>,
    /// `current-context`.
    #[serde(
        rename = "current-context",
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub current_context: Field<String>,
    /// Every other top-level key (`apiVersion`, `kind`, `preferences`, `extensions`, unknown keys).
    #[serde(flatten)]
    pub other: Extra,
}

/// An entry of `clusters`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub name: Field<String>,
    /// `cluster`: the cluster body.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub cluster: Field<Cluster>,
    /// Other keys of the entry.
    #[serde(flatten)]
    pub other: Extra,
}

/// The body of a cluster entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// `server`: the API server URL.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub server: Field<String>,
    /// Other keys (`certificate-authority-data`, `extensions`, `proxy-url`, …).
    #[serde(flatten)]
    pub other: Extra,
}

/// An entry of `contexts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub name: Field<String>,
    /// `context`: the context body.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub context: Field<Context>,
    /// Other keys of the entry.
    #[serde(flatten)]
    pub other: Extra,
}

/// The body of a context entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// `cluster`: the name of a cluster entry.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub cluster: Field<String>,
    /// `user`: the name of a user entry.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub user: Field<String>,
    /// `namespace`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub namespace: Field<String>,
    /// Other keys (`extensions`, …).
    #[serde(flatten)]
    pub other: Extra,
}

/// An entry of `users`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedUser {
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub name: Field<String>,
    /// `user`: the auth info body.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub user: Field<User>,
    /// Other keys of the entry.
    #[serde(flatten)]
    pub other: Extra,
}

/// The body of a user entry (client-go's `AuthInfo`). `Debug` shows keys, never secret values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `exec`: an exec credential plugin (kubelogin).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub exec: Field<ExecConfig>,
    /// `auth-provider`: the legacy auth provider (`azure` before Kubernetes 1.26).
    #[serde(
        rename = "auth-provider",
        default,
        skip_serializing_if = "Field::is_absent"
    )]
    pub auth_provider: Field<AuthProvider>,
    /// Other keys (`token`, `client-certificate-data`, `client-key-data`, …).
    #[serde(flatten)]
    pub other: Extra,
}

/// An `exec` credential plugin section (client-go `ExecConfig`). `Debug` hides secret-looking args and env values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecConfig {
    /// `apiVersion`, e.g. `client.authentication.k8s.io/v1beta1`.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub api_version: Field<String>,
    /// `command`, e.g. `kubelogin`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub command: Field<String>,
    /// `args`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_strings"
    )]
    pub args: Field<Vec<String>>,
    /// `env`; AKS and client-go write `env: null`, which must survive a rewrite.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub env: Field<Vec<ExecEnvVar>>,
    /// `installHint`.
    #[serde(
        rename = "installHint",
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub install_hint: Field<String>,
    /// `provideClusterInfo`.
    #[serde(
        rename = "provideClusterInfo",
        default,
        skip_serializing_if = "Field::is_absent"
    )]
    pub provide_cluster_info: Field<bool>,
    /// `interactiveMode` (`Never`, `IfAvailable`, `Always`).
    #[serde(
        rename = "interactiveMode",
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub interactive_mode: Field<String>,
    /// Other keys.
    #[serde(flatten)]
    pub other: Extra,
}

/// An entry of `exec.env`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecEnvVar {
    /// `name`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub name: Field<String>,
    /// `value`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub value: Field<String>,
    /// Other keys.
    #[serde(flatten)]
    pub other: Extra,
}

/// An `auth-provider` section. `Debug` shows the config keys, not their values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthProvider {
    /// `name`, e.g. `azure`.
    #[serde(
        default,
        skip_serializing_if = "Field::is_absent",
        deserialize_with = "lenient_string"
    )]
    pub name: Field<String>,
    /// `config`: string settings (`apiserver-id`, `client-id`, `tenant-id`, `environment`, `config-mode`, tokens).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub config: Field<Extra>,
    /// Other keys.
    #[serde(flatten)]
    pub other: Extra,
}

/// The cluster and user a context points at (client-go defaults: a missing name is the empty string).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextRef {
    /// The cluster entry name.
    pub cluster: String,
    /// The user entry name.
    pub user: String,
    /// The namespace, when set.
    pub namespace: Option<String>,
}

/// Why a kubeconfig document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The text is not valid YAML, or a modelled key has the wrong type.
    #[error("invalid kubeconfig yaml")]
    Yaml {
        /// The parser's error (line and column, no source snippet: kubeconfigs hold secrets).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The document is a scalar or a list, not a mapping.
    #[error("the document is {found}, not a mapping")]
    NotAMapping {
        /// What the top level is: "a list", "a string", "a number" or "a boolean".
        found: &'static str,
    },
    /// The bytes are not UTF-8.
    #[error("the file is not valid utf-8")]
    InvalidUtf8 {
        /// The decoding error (with the offset of the first bad byte).
        #[source]
        source: std::str::Utf8Error,
    },
}

impl KubeconfigError {
    /// The parser's own message, for az's `Error parsing <file> (<message>)` (docs/az-behaviour.md, "Loading").
    pub fn detail(&self) -> String {
        match self {
            KubeconfigError::Yaml { source } => source.to_string(),
            KubeconfigError::NotAMapping { .. } | KubeconfigError::InvalidUtf8 { .. } => {
                let own = self.to_string();
                match std::error::Error::source(self) {
                    Some(source) => format!("{own}: {source}"),
                    None => own,
                }
            }
        }
    }
}

impl Kubeconfig {
    /// The document as a JSON value (keys in model order; [`Kubeconfig::to_yaml`] sorts them).
    pub fn to_json_value(&self) -> Value {
        serde_json::to_value(self).expect("a kubeconfig has only string keys")
    }

    /// `current-context`, when it is a string (an empty string is returned as is).
    pub fn current_context(&self) -> Option<&str> {
        self.current_context.as_ref().map(String::as_str)
    }

    /// Sets `current-context`.
    pub fn set_current_context(&mut self, name: &str) {
        self.current_context = Field::Present(name.to_owned());
    }

    /// The names of the cluster entries, in file order (entries without a name are left out).
    pub fn cluster_names(&self) -> Vec<String> {
        entries(&self.clusters)
            .filter_map(|entry| entry.name())
            .map(str::to_owned)
            .collect()
    }

    /// The names of the context entries, in file order (entries without a name are left out).
    pub fn context_names(&self) -> Vec<String> {
        entries(&self.contexts)
            .filter_map(|entry| entry.name())
            .map(str::to_owned)
            .collect()
    }

    /// The names of the user entries, in file order (entries without a name are left out).
    pub fn user_names(&self) -> Vec<String> {
        entries(&self.users)
            .filter_map(|entry| entry.name())
            .map(str::to_owned)
            .collect()
    }

    /// The first cluster entry with this name.
    pub fn named_cluster(&self, name: &str) -> Option<&NamedCluster> {
        entries(&self.clusters).find(|entry| entry.name() == Some(name))
    }

    /// The first context entry with this name.
    pub fn named_context(&self, name: &str) -> Option<&NamedContext> {
        entries(&self.contexts).find(|entry| entry.name() == Some(name))
    }

    /// The first user entry with this name.
    pub fn named_user(&self, name: &str) -> Option<&NamedUser> {
        entries(&self.users).find(|entry| entry.name() == Some(name))
    }

    /// The first user entry with this name, mutably (for in-place conversion of its `exec`).
    pub fn named_user_mut(&mut self, name: &str) -> Option<&mut NamedUser> {
        self.users
            .as_mut()
            .into_iter()
            .flatten()
            .find(|entry| entry.name() == Some(name))
    }

    /// The cluster and user names of the first context with this name (client-go: missing names are empty).
    pub fn context(&self, name: &str) -> Option<ContextRef> {
        let context = self.named_context(name)?.context.as_ref();
        Some(ContextRef {
            cluster: context
                .and_then(|body| body.cluster.as_ref())
                .cloned()
                .unwrap_or_default(),
            user: context
                .and_then(|body| body.user.as_ref())
                .cloned()
                .unwrap_or_default(),
            namespace: context.and_then(|body| body.namespace.as_ref()).cloned(),
        })
    }

    /// The `exec` section of the first user with this name.
    pub fn user_exec(&self, user: &str) -> Option<&ExecConfig> {
        self.named_user(user)?.user.as_ref()?.exec.as_ref()
    }

    /// `auth-provider.name` of the first user with this name (e.g. `azure`).
    pub fn user_auth_provider_name(&self, user: &str) -> Option<&str> {
        self.named_user(user)?
            .user
            .as_ref()?
            .auth_provider
            .as_ref()?
            .name
            .as_ref()
            .map(String::as_str)
    }

    /// `server` of the first cluster with this name.
    pub fn cluster_server(&self, cluster: &str) -> Option<&str> {
        self.named_cluster(cluster)?
            .cluster
            .as_ref()?
            .server
            .as_ref()
            .map(String::as_str)
    }
}

/// The entries of a list field (none when absent or null).
pub(crate) fn entries<T>(list: &Field<Vec<T>>) -> std::slice::Iter<'_, T> {
    list.as_ref().map_or([].iter(), |items| items.iter())
}

/// An entry of `clusters`, `contexts` or `users`: what az's and kubectl's merges compare by.
pub trait NamedEntry: Clone + PartialEq {
    /// The entry's `name` when it is a non-empty string (az never compares entries without one).
    fn name(&self) -> Option<&str>;
}

macro_rules! named_entry {
    ($type:ty) => {
        impl NamedEntry for $type {
            fn name(&self) -> Option<&str> {
                self.name
                    .as_ref()
                    .map(String::as_str)
                    .filter(|name| !name.is_empty())
            }
        }
        impl $type {
            /// The entry's `name` when it is a non-empty string.
            pub fn name(&self) -> Option<&str> {
                NamedEntry::name(self)
            }
        }
    };
}
named_entry!(NamedCluster);
named_entry!(NamedContext);
named_entry!(NamedUser);

impl NamedCluster {
    /// An entry `{name, cluster}`.
    pub fn new(name: impl Into<String>, cluster: Cluster) -> Self {
        NamedCluster {
            name: Field::Present(name.into()),
            cluster: Field::Present(cluster),
            other: Extra::new(),
        }
    }
}

impl Cluster {
    /// A cluster body with just a `server`.
    pub fn with_server(server: impl Into<String>) -> Self {
        Cluster {
            server: Field::Present(server.into()),
            other: Extra::new(),
        }
    }
}

impl NamedContext {
    /// An entry `{name, context: {cluster, user}}`.
    pub fn new(
        name: impl Into<String>,
        cluster: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        NamedContext {
            name: Field::Present(name.into()),
            context: Field::Present(Context {
                cluster: Field::Present(cluster.into()),
                user: Field::Present(user.into()),
                ..Context::default()
            }),
            other: Extra::new(),
        }
    }
}

impl NamedUser {
    /// An entry `{name, user}`.
    pub fn new(name: impl Into<String>, user: User) -> Self {
        NamedUser {
            name: Field::Present(name.into()),
            user: Field::Present(user),
            other: Extra::new(),
        }
    }
}

impl AuthProvider {
    /// A `config` setting as a string (unquoted numbers and booleans are rendered as text).
    pub fn config_value(&self, key: &str) -> Option<String> {
        match self.config.as_ref()?.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// Shows a map's keys without its values.
struct KeysOnly<'a>(&'a Extra);

impl fmt::Debug for KeysOnly<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.0.keys()).finish()
    }
}

/// Shows a `Field` through a projection.
struct FieldDebug<'a, T, F>(&'a Field<T>, F);

impl<T, F: Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result> fmt::Debug for FieldDebug<'_, T, F> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Field::Absent => formatter.write_str("Absent"),
            Field::Null => formatter.write_str("Null"),
            Field::Present(value) => (self.1)(value, formatter),
        }
    }
}

/// True for an exec argument whose value is a secret (`--client-secret`, `--password`, …).
fn is_secret_flag(flag: &str) -> bool {
    let flag = flag.to_ascii_lowercase();
    ["secret", "password", "token"]
        .iter()
        .any(|word| flag.starts_with('-') && flag.contains(word))
}

/// Exec args with the values of secret flags replaced.
fn redacted_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push("<redacted>".to_owned());
            hide_next = false;
        } else if let Some((flag, _)) = arg.split_once('=').filter(|(flag, _)| is_secret_flag(flag))
        {
            out.push(format!("{flag}=<redacted>"));
        } else {
            hide_next = is_secret_flag(arg);
            out.push(arg.clone());
        }
    }
    out
}

impl fmt::Debug for User {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("User")
            .field("exec", &self.exec)
            .field("auth_provider", &self.auth_provider)
            .field("other_keys", &KeysOnly(&self.other))
            .finish()
    }
}

impl fmt::Debug for ExecConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ExecConfig")
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field(
                "args",
                &FieldDebug(
                    &self.args,
                    |args: &Vec<String>, f: &mut fmt::Formatter<'_>| {
                        fmt::Debug::fmt(&redacted_args(args), f)
                    },
                ),
            )
            .field("env", &self.env)
            .field(
                "install_hint",
                &FieldDebug(
                    &self.install_hint,
                    |hint: &String, f: &mut fmt::Formatter<'_>| {
                        write!(f, "<{} chars>", hint.chars().count())
                    },
                ),
            )
            .field("provide_cluster_info", &self.provide_cluster_info)
            .field("interactive_mode", &self.interactive_mode)
            .field("other_keys", &KeysOnly(&self.other))
            .finish()
    }
}

impl fmt::Debug for ExecEnvVar {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ExecEnvVar")
            .field("name", &self.name)
            .field(
                "value",
                &FieldDebug(&self.value, |_: &String, f: &mut fmt::Formatter<'_>| {
                    f.write_str("<redacted>")
                }),
            )
            .field("other_keys", &KeysOnly(&self.other))
            .finish()
    }
}

impl fmt::Debug for AuthProvider {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthProvider")
            .field("name", &self.name)
            .field(
                "config_keys",
                &FieldDebug(
                    &self.config,
                    |config: &Extra, f: &mut fmt::Formatter<'_>| {
                        fmt::Debug::fmt(&KeysOnly(config), f)
                    },
                ),
            )
            .field("other_keys", &KeysOnly(&self.other))
            .finish()
    }
}
