//! Interop with the real MSAL Python and msal-extensions that az uses (added in the next step).
