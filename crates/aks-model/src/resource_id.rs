/// A parsed ARM resource id `/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource group name, as written in the id.
    pub resource_group: String,
    /// Provider namespace + type, e.g. `Microsoft.ContainerService/managedClusters`.
    pub resource_type: String,
    /// Resource name.
    pub name: String,
}

impl ResourceId {
    /// Parse a resource id; segment names (`subscriptions`, `resourceGroups`, `providers`) are case-insensitive.
    pub fn parse(id: &str) -> Option<ResourceId> {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        if parts.len() < 8
            || !parts[0].eq_ignore_ascii_case("subscriptions")
            || !parts[2].eq_ignore_ascii_case("resourceGroups")
            || !parts[4].eq_ignore_ascii_case("providers")
            || parts.iter().any(|p| p.is_empty())
        {
            return None;
        }
        Some(ResourceId {
            subscription_id: parts[1].to_string(),
            resource_group: parts[3].to_string(),
            resource_type: format!("{}/{}", parts[5], parts[6]),
            name: parts[7].to_string(),
        })
    }

    /// The resource group named by any id of the form `/subscriptions/x/resourceGroups/RG/...` with at least one
    /// segment after the group (az's `resourceGroup` transform, docs/az-behaviour.md "How az renders a resource").
    pub fn resource_group_of(id: &str) -> Option<&str> {
        let mut parts = id.strip_prefix('/')?.split('/');
        let subscriptions = parts.next()?;
        let subscription = parts.next()?;
        let groups = parts.next()?;
        let group = parts.next()?;
        let after = parts.next()?;
        (subscriptions.eq_ignore_ascii_case("subscriptions")
            && !subscription.is_empty()
            && groups.eq_ignore_ascii_case("resourceGroups")
            && !group.is_empty()
            && !after.is_empty())
        .then_some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_ids_case_insensitively() {
        let id = ResourceId::parse(
            "/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1",
        )
        .unwrap();
        assert_eq!(id.subscription_id, "s1");
        assert_eq!(id.resource_group, "rg1");
        assert_eq!(
            id.resource_type,
            "Microsoft.ContainerService/managedClusters"
        );
        assert_eq!(id.name, "c1");
        assert!(ResourceId::parse("/subscriptions/s1/resourceGroups/rg1").is_none());
    }

    #[test]
    fn resource_group_transform_needs_a_segment_after_the_group() {
        assert_eq!(
            ResourceId::resource_group_of("/subscriptions/s/resourceGroups/rg/providers/x"),
            Some("rg")
        );
        assert_eq!(
            ResourceId::resource_group_of("/subscriptions/s/resourceGroups/rg"),
            None
        );
        assert_eq!(ResourceId::resource_group_of("/subscriptions/s"), None);
    }
}
