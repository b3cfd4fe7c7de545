//! Tri-state fields: absent, `null`, or a value. ARM bodies carry explicit `null`s (e.g.
//! `"adminGroupObjectIDs": null`); a round trip must keep them.

use serde::{Deserialize, Deserializer};

/// Deserialize a present field (even `null`) as `Some(..)`; with `#[serde(default)]` an absent one stays `None`.
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
