//! [`Field`]: a mapping value that may be absent, `null` or present, and lenient string decoding.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A value in a YAML mapping that may be missing, explicitly `null`, or present.
///
/// Kubeconfig readers treat the three differently: az's merge raises "No such key" for a missing `clusters` but
/// replaces a `null` one (docs/az-behaviour.md, "The merge"), and client-go writes `env: null` for an empty exec env.
/// Keeping the distinction lets a parse → write round trip reproduce the document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Field<T> {
    /// The key is not in the mapping.
    #[default]
    Absent,
    /// The key is present with a `null` (`~`, empty) value.
    Null,
    /// The key is present with a value.
    Present(T),
}

impl<T> Field<T> {
    /// True when the key is not in the mapping (used to skip it when writing).
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// True when the key is present with a `null` value.
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    /// The value, if present.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Absent | Field::Null => None,
        }
    }

    /// The value, mutably, if present.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Absent | Field::Null => None,
        }
    }

    /// The value, if present, consuming the field.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Present(value) => Some(value),
            Field::Absent | Field::Null => None,
        }
    }

    /// The present value, or the value `make` returns after storing it (for absent and `null` fields).
    pub fn get_or_insert_with(&mut self, make: impl FnOnce() -> T) -> &mut T {
        if !matches!(self, Field::Present(_)) {
            *self = Field::Present(make());
        }
        match self {
            Field::Present(value) => value,
            Field::Absent | Field::Null => unreachable!("the field was just set"),
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    /// `None` becomes [`Field::Absent`].
    fn from(value: Option<T>) -> Self {
        value.map_or(Field::Absent, Field::Present)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Absent fields are skipped with `skip_serializing_if`; writing them as null is the fallback.
            Field::Absent | Field::Null => serializer.serialize_none(),
            Field::Present(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A missing key never reaches this: the struct fields carry `#[serde(default)]`.
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Field::Null, Field::Present))
    }
}

/// A string that also accepts the scalars a hand-written YAML file may leave unquoted (`name: 123`,
/// `namespace: yes`), as client-go does when it decodes them into a string field.
struct LenientString(String);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor;
        impl Visitor<'_> for LenientVisitor {
            type Value = LenientString;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(LenientString(value.to_owned()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
                Ok(LenientString(value))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(LenientString(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(LenientString(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(LenientString(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(LenientString(value.to_string()))
            }
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

/// `deserialize_with` for a `Field<String>` that accepts unquoted scalars.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Field<String>, D::Error> {
    Ok(Option::<LenientString>::deserialize(deserializer)?
        .map_or(Field::Null, |value| Field::Present(value.0)))
}

/// `deserialize_with` for a `Field<Vec<String>>` whose items may be unquoted scalars.
pub(crate) fn lenient_strings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Field<Vec<String>>, D::Error> {
    Ok(
        Option::<Vec<LenientString>>::deserialize(deserializer)?.map_or(Field::Null, |values| {
            Field::Present(values.into_iter().map(|value| value.0).collect())
        }),
    )
}
