//! Who is signed in, and their tokens.
//!
//! What it is for: the credential chain, the sign-in flows, the login shared with the Azure CLI (its
//! `AZURE_CONFIG_DIR` files and MSAL token cache), token caches bound to the identity that earned each token, and
//! kubelogin's token modes.
//!
//! What it is not for: printing, prompting or exiting (prompts go through callbacks the CLI provides), or ARM
//! requests (`aks-arm` takes its tokens from here through a small token-source trait).

#![warn(missing_docs)]
pub mod azure_cli;
