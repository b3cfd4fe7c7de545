//! The subscriptions the emulator answers for: its own ([`SUBSCRIPTION_ID`]) and the others added with
//! `POST /_emulator/seed` (`"subscriptions"`). Each has its own resource groups, clusters and write budget (ARM's
//! token bucket is per subscription, docs/arm-aks-api.md "Throttling"); all share the tenant, the identities and
//! the role assignments made in the emulator's own subscription.
//!
//! The subscription a request is about is a value, [`Subscription`]: the ARM router derives it once from the
//! request path (`/subscriptions/{id}/…`) and passes it to the handlers, which pass it to the store helpers; seeding
//! builds it from the seed's `subscription`, and loading the state file from each record's subscription. It gives
//! the store keys of resource groups and clusters ([`Subscription::group_key`]) and the subscription id written in
//! resource ids ([`Subscription::id`]).

use crate::SUBSCRIPTION_ID;

/// Whether `subscription` is the emulator's own.
pub(crate) fn is_own(subscription: &str) -> bool {
    subscription.eq_ignore_ascii_case(SUBSCRIPTION_ID)
}

/// The subscription a request (or a seeded or loaded record) is about: the emulator's own or another one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Another subscription's id in lower case; `None`: the emulator's own.
    other: Option<String>,
}

impl Subscription {
    /// The emulator's own subscription.
    pub(crate) fn own() -> Subscription {
        Subscription::default()
    }

    /// The subscription `id` names (`None` or the emulator's own id: the emulator's own).
    pub(crate) fn of(id: Option<&str>) -> Subscription {
        Subscription {
            other: id.filter(|id| !is_own(id)).map(str::to_ascii_lowercase),
        }
    }

    /// Whether this is the emulator's own subscription.
    pub(crate) fn is_own(&self) -> bool {
        self.other.is_none()
    }

    /// The subscription id as resource ids write it (another subscription's in lower case).
    pub(crate) fn id(&self) -> &str {
        self.other.as_deref().unwrap_or(SUBSCRIPTION_ID)
    }

    /// The store key of resource group `group` of this subscription: its lower-case name, behind
    /// `<subscription>/` in another subscription (a group name has no `/`).
    pub(crate) fn group_key(&self, group: &str) -> String {
        let group = group.to_lowercase();
        match &self.other {
            Some(subscription) => format!("{subscription}/{group}"),
            None => group,
        }
    }

    /// Whether a store key made by [`Subscription::group_key`] belongs to this subscription.
    pub(crate) fn owns_group_key(&self, key: &str) -> bool {
        match (&self.other, key.split_once('/')) {
            (Some(subscription), Some((owner, _))) => owner == subscription,
            (None, None) => true,
            _ => false,
        }
    }
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
    fn keys_and_ids_follow_the_subscription() {
        let own = Subscription::own();
        assert!(own.is_own());
        assert_eq!(own.id(), SUBSCRIPTION_ID);
        assert_eq!(own.group_key("Fleet"), "fleet");
        assert_eq!(Subscription::of(None), own);
        assert_eq!(Subscription::of(Some(&SUBSCRIPTION_ID.to_uppercase())), own);

        let other = Subscription::of(Some(OTHER));
        assert!(!other.is_own());
        assert_eq!(other.id(), OTHER.to_lowercase());
        assert_eq!(
            other.group_key("Fleet"),
            format!("{}/fleet", OTHER.to_lowercase())
        );
        assert!(other.owns_group_key(&other.group_key("x")));
        assert!(!other.owns_group_key("x"));
        assert!(own.owns_group_key("fleet"));
        assert!(!own.owns_group_key(&other.group_key("fleet")));
        let third = Subscription::of(Some("00000000-0000-0000-0000-0000000000b2"));
        assert!(!third.owns_group_key(&other.group_key("fleet")));
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
