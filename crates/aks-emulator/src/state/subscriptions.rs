//! The subscriptions the emulator answers for: its own ([`SUBSCRIPTION_ID`]) and the others added with
//! `POST /_emulator/seed` (`"subscriptions"`). Each has its own resource groups, clusters and write budget (ARM's
//! token bucket is per subscription, docs/arm-aks-api.md "Throttling"); all share the tenant, the identities and
//! the role assignments made in the emulator's own subscription.
//!
//! A route answers synchronously on one thread, so the subscription of the request being answered is kept for
//! that thread while it runs ([`within`]): the store keys of resource groups and clusters ([`group_key`]) and the
//! resource ids written ([`current`]) are those of that subscription. Outside a request (seeding, tests) it is the
//! emulator's own, unless a seed names another.

use std::cell::RefCell;

use crate::SUBSCRIPTION_ID;

thread_local! {
    /// The other subscription (lower case) the current request is about; `None`: the emulator's own.
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Whether `subscription` is the emulator's own.
pub(crate) fn is_own(subscription: &str) -> bool {
    subscription.eq_ignore_ascii_case(SUBSCRIPTION_ID)
}

/// Runs `answer` as a request about `subscription` (`None` or the emulator's own: the default).
pub(crate) fn within<R>(subscription: Option<&str>, answer: impl FnOnce() -> R) -> R {
    let other = subscription
        .filter(|subscription| !is_own(subscription))
        .map(str::to_ascii_lowercase);
    let previous = CURRENT.with(|current| current.replace(other));
    let result = answer();
    CURRENT.with(|current| *current.borrow_mut() = previous);
    result
}

/// The subscription id of the current request, as resource ids write it.
pub(crate) fn current() -> String {
    CURRENT.with(|current| {
        current
            .borrow()
            .clone()
            .unwrap_or_else(|| SUBSCRIPTION_ID.to_string())
    })
}

/// The store key of resource group `group` of the current subscription: its lower-case name, behind
/// `<subscription>/` in another subscription (a group name has no `/`).
pub(crate) fn group_key(group: &str) -> String {
    let group = group.to_lowercase();
    CURRENT.with(|current| match current.borrow().as_deref() {
        Some(subscription) => format!("{subscription}/{group}"),
        None => group,
    })
}

/// Whether a store key made by [`group_key`] belongs to the current subscription.
pub(crate) fn owns_group_key(key: &str) -> bool {
    CURRENT.with(
        |current| match (current.borrow().as_deref(), key.split_once('/')) {
            (Some(subscription), Some((owner, _))) => owner == subscription,
            (None, None) => true,
            _ => false,
        },
    )
}

/// A resource id (or scope) of another subscription as the same id in the emulator's own, where its role
/// assignments are; other ids unchanged.
pub(crate) fn as_own_scope(id: &str) -> String {
    let mut parts: Vec<&str> = id.splitn(4, '/').collect();
    if parts.len() >= 3 && parts[1].eq_ignore_ascii_case("subscriptions") && !is_own(parts[2]) {
        parts[2] = SUBSCRIPTION_ID;
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER: &str = "00000000-0000-0000-0000-0000000000B1";

    #[test]
    fn keys_and_ids_follow_the_request_subscription() {
        assert_eq!(group_key("Fleet"), "fleet");
        assert_eq!(current(), SUBSCRIPTION_ID);
        within(Some(OTHER), || {
            assert_eq!(
                group_key("Fleet"),
                format!("{}/fleet", OTHER.to_lowercase())
            );
            assert_eq!(current(), OTHER.to_lowercase());
            assert!(owns_group_key(&group_key("x")));
            assert!(!owns_group_key("x"));
            within(Some(SUBSCRIPTION_ID), || {
                assert_eq!(group_key("Fleet"), "fleet")
            });
            assert_eq!(
                current(),
                OTHER.to_lowercase(),
                "restored after a nested request"
            );
        });
        assert!(owns_group_key("fleet"));
        assert!(!owns_group_key(&format!("{OTHER}/fleet")));
        assert_eq!(group_key("Fleet"), "fleet");
    }

    #[test]
    fn scopes_of_other_subscriptions_map_to_the_own_one() {
        assert_eq!(
            as_own_scope(&format!("/subscriptions/{OTHER}/resourceGroups/g")),
            format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/g")
        );
        assert_eq!(
            as_own_scope(&format!("/subscriptions/{OTHER}")),
            format!("/subscriptions/{SUBSCRIPTION_ID}")
        );
        assert_eq!(as_own_scope("/providers/x"), "/providers/x");
    }
}
