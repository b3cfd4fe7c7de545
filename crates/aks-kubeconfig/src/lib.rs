//! Kubeconfig files for aksctl: `az aks get-credentials`' merge, kubelogin's `convert-kubeconfig`, and the
//! ExecCredential `kubelogin get-token` prints.
//!
//! What it is for:
//! - [`Kubeconfig`]: a typed model of the parts aksctl reads or edits (names, context references, cluster
//!   servers, `exec` and `auth-provider` users) that keeps every other key in `#[serde(flatten)]` maps and
//!   tells a missing key from `null` from `[]` ([`Field`]), read and written with serde-saphyr in the style
//!   az and kubectl write (sorted keys, YAML-1.1-safe quoting).
//! - Two named merges: [`kubectl_merge`] (read-merge of a `KUBECONFIG` list, first file wins, origins kept)
//!   and [`az_merge`] (write-merge of a fetched credential, replace by name with conflict detection), plus
//!   az's renaming ([`az_rename`]).
//! - Writing: [`write_atomic`] (temp file in the same directory, mode kept, new files 0600, rename),
//!   client-go's `<file>.lock` ([`FileLock`]), and the whole get-credentials file step ([`merge_into_file`]).
//! - kubelogin 0.2.19's `convert-kubeconfig`: [`ConvertOptions`] (its flags and environment overrides),
//!   [`convert`] on a document and [`convert_files`] on the merged `KUBECONFIG` list, writing each user back to
//!   its own file.
//! - [`ExecCredential`]: the JSON line `kubelogin get-token` prints, and [`parse_exec_info`] for kubectl's
//!   `KUBERNETES_EXEC_INFO`.
//!
//! What it is not for: network access, prompting or printing. Callers pass a `confirm` callback for az's
//! overwrite question and turn the error variants into az's exact messages. Behaviour references:
//! `docs/az-behaviour.md` ("aks get-credentials"), `docs/kubelogin.md` ("convert-kubeconfig", "ExecCredential
//! output"), `docs/kubectl-wire.md` ("How kubectl writes kubeconfig"), `docs/kubeconfig-files.md` and
//! `docs/rust-dependencies.md` ("Data formats").

#![warn(missing_docs)]

mod az_merge;
mod convert;
mod convert_file;
mod exec_credential;
mod field;
mod file;
mod kubectl_merge;
mod model;
mod sorted;
mod splice;
mod split;
mod write;
mod yaml;
mod yaml_settings;

pub use az_merge::{MergeError, az_merge, az_rename};
pub use convert::{
    ConvertError, ConvertOptions, DEFAULT_ENVIRONMENT, DEFAULT_INSTALL_HINT, DEFAULT_TIMEOUT,
    EXEC_API_VERSION, EnvironmentValues, KUBELOGIN_COMMAND, LoginMode, UnsupportedLoginMethod,
    convert, is_azure_user, parse_go_duration,
};
pub use convert_file::{
    ConvertFileError, ConvertFilesOptions, ConvertReport, ConvertedUser, MissingFiles,
    convert_explicit_file, convert_files, convert_files_with,
};
pub use exec_credential::{
    ExecCredential, ExecCredentialVersion, ExecInfoError, KUBERNETES_EXEC_INFO, format_expiration,
    parse_exec_info,
};
pub use field::Field;
pub use file::{
    DEFAULT_LOCK_TIMEOUT, FileMergeError, LoadError, MergeFileOptions, MergeOutcome, load_file,
    merge_into_file, merge_into_file_with,
};
pub use kubectl_merge::{
    MergedKubeconfig, first_kubeconfig_env_entry, kubectl_merge, split_kubeconfig_env,
    split_kubeconfig_env_with_empty,
};
pub use model::{
    AuthProvider, Cluster, Context, ContextRef, ExecConfig, ExecEnvVar, Extra, Kubeconfig,
    KubeconfigError, NamedCluster, NamedContext, NamedEntry, NamedUser, UNKNOWN_CONTEXT, User,
};
pub use write::{
    FileLock, NEW_DIRECTORY_MODE, NEW_FILE_MODE, SymlinkPolicy, WriteError, WriteOutcome,
    lock_path, resolve_symlinks, write_atomic,
};
