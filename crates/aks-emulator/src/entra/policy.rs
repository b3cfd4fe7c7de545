//! Conditional Access and token-lifetime switches (`GET`/`PUT /_emulator/conditional-access`): what Entra and
//! ARM refuse, per user or for everyone, until a switch is turned off again.
//!
//! | switch | effect |
//! | --- | --- |
//! | `device_code_blocked` | a device-code sign-in the user approved is refused at the next poll: `400 invalid_grant` AADSTS53003 (no token) |
//! | `mfa_required` | refresh-token and password grants answer `400 invalid_grant` AADSTS50076 (`suberror` `basic_action`) with the [`challenge`] in `claims`, unless the refresh token came from a sign-in that did MFA; ARM answers a user token without the `acrs` value [`AUTH_CONTEXT`] with `401` and `WWW-Authenticate: … error="insufficient_claims", claims="<base64 of the challenge>"`. Interactive sign-ins (`/authorize`, device code) do the MFA: their tokens carry `acrs` and `amr` `mfa`, and ARM accepts them |
//! | `refresh_tokens_expired` | refresh tokens issued before the switch was set answer AADSTS700082 (expired through inactivity) |
//! | `refresh_tokens_revoked` | refresh tokens issued before the switch was set answer AADSTS50173 (revoked, e.g. a password reset) |
//! | `device_code_expires_in` | seconds: device codes started from then on expire after that long (`expires_in`), so a poll after it answers `expired_token` AADSTS70020 |
//!
//! Each switch but `device_code_expires_in` (a number, or `null`/absent for Entra's 900 s) is `null` or absent
//! (off), `"all"`, or a list of user principal names. Challenges and codes
//! follow Microsoft's docs: <https://learn.microsoft.com/entra/identity-platform/claims-challenge> and
//! <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>.

use serde::{Deserialize, Serialize};

use crate::state::{Directory, User, now_ms};

/// The authentication context (`acrs`) a sign-in with MFA satisfies, and the challenge names.
pub(crate) const AUTH_CONTEXT: &str = "c1";

/// The claims challenge of the MFA switch, as Entra puts it in `claims` and ARM (base64) in `WWW-Authenticate`.
pub(crate) fn challenge() -> String {
    serde_json::json!({"access_token": {"acrs": {"essential": true, "value": AUTH_CONTEXT}}})
        .to_string()
}

/// Whether a `claims` request parameter asks for the [`challenge`]'s authentication context.
pub(crate) fn asks_for_auth_context(claims: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(claims) else {
        return false;
    };
    let acrs = &value["access_token"]["acrs"];
    acrs["value"] == AUTH_CONTEXT
        || acrs["values"]
            .as_array()
            .is_some_and(|values| values.iter().any(|value| value == AUTH_CONTEXT))
}

/// Who a switch applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scope {
    /// Nobody (the switch is off).
    #[default]
    Off,
    /// `"all"`: every user.
    All(AllUsers),
    /// These users (principal names, case-insensitive).
    Users(Vec<String>),
}

/// The literal `"all"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AllUsers {
    /// Every user.
    All,
}

impl Scope {
    fn applies(&self, user: &User) -> bool {
        match self {
            Scope::Off => false,
            Scope::All(_) => true,
            Scope::Users(names) => names
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&user.user_principal_name)),
        }
    }

    fn unknown_user<'a>(&'a self, directory: &Directory) -> Option<&'a str> {
        match self {
            Scope::Users(names) => names
                .iter()
                .find(|name| directory.user(name).is_none())
                .map(String::as_str),
            _ => None,
        }
    }
}

/// The switches, as `PUT /_emulator/conditional-access` takes them (missing fields are off).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Switches {
    /// Device-code sign-ins are blocked by policy (AADSTS53003 at the poll after approval).
    pub device_code_blocked: Scope,
    /// MFA is required: silent grants get AADSTS50076 with a claims challenge; ARM challenges tokens without it.
    pub mfa_required: Scope,
    /// Refresh tokens issued before the switch are expired (AADSTS700082).
    pub refresh_tokens_expired: Scope,
    /// Refresh tokens issued before the switch are revoked (AADSTS50173).
    pub refresh_tokens_revoked: Scope,
    /// The lifetime, in seconds, of device codes started from now on (`expires_in`; Entra's 900 when absent).
    pub device_code_expires_in: Option<u64>,
}

/// The switches and when they were set (refresh tokens issued before then are refused by the two refresh-token
/// switches; later sign-ins work).
#[derive(Default)]
pub(crate) struct Policies {
    switches: Switches,
    set_ms: u64,
}

/// Why a refresh token is refused by a switch.
#[derive(Debug, PartialEq)]
pub(crate) enum RefreshRefusal {
    /// AADSTS700082.
    Expired,
    /// AADSTS50173.
    Revoked,
}

impl Policies {
    /// The switches as set.
    pub fn switches(&self) -> &Switches {
        &self.switches
    }

    /// Replace the switches; refuses (naming it) a user the directory does not have.
    pub fn set(&mut self, switches: Switches, directory: &Directory) -> Result<(), String> {
        for scope in [
            &switches.device_code_blocked,
            &switches.mfa_required,
            &switches.refresh_tokens_expired,
            &switches.refresh_tokens_revoked,
        ] {
            if let Some(name) = scope.unknown_user(directory) {
                return Err(format!("no user '{name}' in the directory"));
            }
        }
        self.switches = switches;
        self.set_ms = now_ms();
        Ok(())
    }

    /// Whether device-code sign-ins of `user` are blocked.
    pub fn device_code_blocked(&self, user: &User) -> bool {
        self.switches.device_code_blocked.applies(user)
    }

    /// The lifetime of a device code started now, in seconds, when the switch sets one.
    pub fn device_code_expires_in(&self) -> Option<u64> {
        self.switches.device_code_expires_in
    }

    /// Whether `user` must have done MFA.
    pub fn mfa_required(&self, user: &User) -> bool {
        self.switches.mfa_required.applies(user)
    }

    /// Whether a refresh token of `user` issued at `issued_ms` is refused, and why.
    pub fn refresh_refusal(&self, user: &User, issued_ms: u64) -> Option<RefreshRefusal> {
        if issued_ms >= self.set_ms {
            return None;
        }
        if self.switches.refresh_tokens_revoked.applies(user) {
            Some(RefreshRefusal::Revoked)
        } else if self.switches.refresh_tokens_expired.applies(user) {
            Some(RefreshRefusal::Expired)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_off_all_and_users() {
        let switches: Switches = serde_json::from_str(
            r#"{"device_code_blocked": "all", "mfa_required": ["dev@emulator.local"], "refresh_tokens_expired": null}"#,
        )
        .unwrap();
        assert_eq!(switches.device_code_blocked, Scope::All(AllUsers::All));
        assert_eq!(
            switches.mfa_required,
            Scope::Users(vec!["dev@emulator.local".into()])
        );
        assert_eq!(switches.refresh_tokens_expired, Scope::Off);
        assert_eq!(switches.refresh_tokens_revoked, Scope::Off);
        assert!(serde_json::from_str::<Switches>(r#"{"mfa_required": "everyone"}"#).is_err());
        assert!(serde_json::from_str::<Switches>(r#"{"mfa": "all"}"#).is_err());
    }

    #[test]
    fn the_challenge_is_recognised_in_claims_requests() {
        assert!(asks_for_auth_context(&challenge()));
        assert!(asks_for_auth_context(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]},"acrs":{"essential":true,"values":["c1","c2"]}}}"#
        ));
        assert!(!asks_for_auth_context(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        ));
        assert!(!asks_for_auth_context("not json"));
    }
}
