//! Who is signed in, and their tokens.
//!
//! What it is for: the credential chain, the sign-in flows, the login shared with the Azure CLI (its
//! `AZURE_CONFIG_DIR` files and MSAL token cache), token caches bound to the identity that earned each token, and
//! kubelogin's token modes.
//!
//! What it is not for: printing, prompting or exiting (prompts go through callbacks the CLI provides), or ARM
//! requests (`aks-arm` takes its tokens from here through a small token-source trait).
//!
//! Modules form layers, each using only those below it (`scripts/check-module-cycles.py` keeps it so): [`secret`]
//! (the redacted [`secret::Secret`] and credential fingerprints), [`certificate`] (client certificate assertions),
//! [`entra`] (Entra's endpoints), [`azure_cli`] (az's files and its silent token), [`credential`] (the chain and
//! its token cache), [`kubelogin`], [`sign_in`]; [`files`] and [`hints`] are leaves any of them may use.

#![warn(missing_docs)]

pub mod azure_cli;
pub mod certificate;
pub mod credential;
pub mod entra;
pub mod files;
pub mod hints;
pub mod kubelogin;
pub mod secret;
pub mod sign_in;
#[cfg(feature = "test-support")]
pub mod test_support;

/// The whole `source()` chain of an error, `outer: inner: innermost`, skipping repeats
/// (reqwest and hyper often repeat their inner message).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}
