//! Validation of what users type: GUIDs, cluster and resource-group names, locations, the default DNS prefix.
//! Errors name the flag and the bad value.

use thiserror::Error;

/// A value a user typed that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// Not a GUID.
    #[error(
        "{flag} value \"{value}\" is not a valid GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
    )]
    NotAGuid {
        /// The flag it came from.
        flag: String,
        /// The bad value.
        value: String,
    },
    /// A bad managed cluster name.
    #[error(
        "{flag} value \"{value}\" is not a valid cluster name: use 1 to 63 letters, digits, '-' or '_', starting and ending with a letter or digit"
    )]
    ClusterName {
        /// The flag it came from.
        flag: String,
        /// The bad value.
        value: String,
    },
    /// A bad resource group name.
    #[error(
        "{flag} value \"{value}\" is not a valid resource group name: use 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'"
    )]
    ResourceGroupName {
        /// The flag it came from.
        flag: String,
        /// The bad value.
        value: String,
    },
    /// A bad location.
    #[error(
        "{flag} value \"{value}\" is not a valid Azure location (for example: eastus, westeurope)"
    )]
    Location {
        /// The flag it came from.
        flag: String,
        /// The bad value.
        value: String,
    },
}

/// Whether `value` is a GUID in the 8-4-4-4-12 hex form (braces not accepted).
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Check one GUID.
pub fn guid(flag: &str, value: &str) -> Result<String, ValidationError> {
    if is_guid(value) {
        Ok(value.to_string())
    } else {
        Err(ValidationError::NotAGuid {
            flag: flag.to_string(),
            value: value.to_string(),
        })
    }
}

/// Split a comma-separated GUID list as az does (`""` is an empty list) and check each entry.
pub fn guid_list(flag: &str, value: &str) -> Result<Vec<String>, ValidationError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|item| guid(flag, item.trim()))
        .collect()
}

/// Check a managed cluster name: `^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`.
pub fn cluster_name(flag: &str, value: &str) -> Result<(), ValidationError> {
    let bytes = value.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_alphanumeric();
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && edge_ok(&bytes[0])
        && edge_ok(&bytes[bytes.len() - 1])
        && bytes.iter().all(inner_ok);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::ClusterName {
            flag: flag.to_string(),
            value: value.to_string(),
        })
    }
}

/// Check a resource group name: 1-90 of `[-\w._()]`, not ending with a period.
pub fn resource_group_name(flag: &str, value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.chars().count() <= 90
        && !value.ends_with('.')
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::ResourceGroupName {
            flag: flag.to_string(),
            value: value.to_string(),
        })
    }
}

/// Normalise a location as ARM does (`East US` → `eastus`) and check its characters.
pub fn location(flag: &str, value: &str) -> Result<String, ValidationError> {
    let normalised: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if !normalised.is_empty()
        && normalised.len() <= 64
        && normalised.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        Ok(normalised)
    } else {
        Err(ValidationError::Location {
            flag: flag.to_string(),
            value: value.to_string(),
        })
    }
}

/// az's default DNS prefix: `<name[:10]>-<rg[:16]>-<subscription[:6]>` with characters other than letters, digits and
/// `-` removed, and an `a` put first when the name does not start with a letter (docs/az-behaviour.md, "aks create").
pub fn default_dns_prefix(name: &str, resource_group: &str, subscription_id: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    };
    let mut name_part: String = clean(name).chars().take(10).collect();
    if !name_part
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
    {
        name_part = format!("a{name_part}").chars().take(10).collect();
    }
    let group_part: String = clean(resource_group).chars().take(16).collect();
    let subscription_part: String = subscription_id.chars().take(6).collect();
    format!("{name_part}-{group_part}-{subscription_part}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("99999999-aaaa-bbbb-cccc-dddddddddddd"));
        assert!(!is_guid("99999999-aaaa-bbbb-cccc-ddddddddddd"));
        assert!(!is_guid("{99999999-aaaa-bbbb-cccc-dddddddddddd}"));
        assert!(!is_guid("zzzzzzzz-aaaa-bbbb-cccc-dddddddddddd"));
        assert_eq!(guid_list("--x", "").unwrap(), Vec::<String>::new());
        let err = guid_list(
            "--aad-admin-group-object-ids",
            "99999999-aaaa-bbbb-cccc-dddddddddddd,nope",
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }

    #[test]
    fn names() {
        assert!(cluster_name("-n", "c1").is_ok());
        assert!(cluster_name("-n", "a").is_ok());
        assert!(cluster_name("-n", "my_cluster-1").is_ok());
        assert!(cluster_name("-n", "-bad").is_err());
        assert!(cluster_name("-n", "bad-").is_err());
        assert!(cluster_name("-n", &"a".repeat(64)).is_err());
        assert!(cluster_name("-n", "").is_err());
        assert!(resource_group_name("-g", "my-rg_(1).x").is_ok());
        assert!(resource_group_name("-g", "rg.").is_err());
        assert!(resource_group_name("-g", "rg/x").is_err());
        assert_eq!(location("-l", "East US").unwrap(), "eastus");
        assert!(location("-l", "east-us!").is_err());
    }

    #[test]
    fn dns_prefix_like_az() {
        assert_eq!(
            default_dns_prefix("c1", "rg1", "00000000-0000-0000-0000-0000000000aa"),
            "c1-rg1-000000"
        );
        assert_eq!(
            default_dns_prefix("1cluster_name_long", "my_rg", "abcdef12"),
            "a1clustern-myrg-abcdef"
        );
    }
}
