//! The crate's one secret type, [`crate::secret::Secret`] (`Debug` and `Display` print `<redacted>`), under
//! the path az's file modules use.

pub use crate::secret::Secret;
