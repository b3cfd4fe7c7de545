use serde::{Deserialize, Serialize};

use crate::Extra;

/// `GET /subscriptions` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionList {
    /// The subscriptions.
    #[serde(default)]
    pub value: Vec<Subscription>,
    /// Next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    /// Unmodelled fields (`count`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One subscription.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `/subscriptions/{id}`.
    #[serde(default)]
    pub id: String,
    /// The GUID.
    #[serde(default)]
    pub subscription_id: String,
    /// Home tenant.
    #[serde(default)]
    pub tenant_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// `Enabled`, ...
    #[serde(default)]
    pub state: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}
