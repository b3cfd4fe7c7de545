//! The crate's one secret type, [`crate::credential::Secret`] (`Debug` and `Display` print `<redacted>`), under
//! the path az's file modules use.

pub use crate::credential::Secret;
