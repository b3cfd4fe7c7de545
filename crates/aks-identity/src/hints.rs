//! The next step that works after Entra refuses a sign-in or a silent token request: one list of the AADSTS
//! codes a person can act on ([`Refusal::from_codes`]), and one wording per refusal and place it happened
//! ([`next_step`]), so kubelogin, the login shared with az and `aksctl login` say the same thing.
//!
//! Codes and their meaning: <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>;
//! claims challenges: <https://learn.microsoft.com/entra/identity-platform/claims-challenge>. Background in
//! `docs/conditional-access.md`.

/// Where the refusal happened; it decides which next step works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// kubelogin `get-token -l devicecode` (a cached refresh token, then the device-code sign-in).
    KubeloginDeviceCode,
    /// kubelogin `get-token -l interactive` (a cached refresh token, then the browser sign-in).
    KubeloginInteractive,
    /// The login shared with az: kubelogin `-l azurecli` and aksctl's credential chain.
    SharedLogin,
    /// `aksctl login --use-device-code`.
    LoginDeviceCode,
    /// `aksctl login` in a browser (or with `--use-paste-back`).
    LoginInteractive,
}

/// What a refusal means for the person, whatever the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// AADSTS53003: a Conditional Access policy blocked the sign-in (device code is what such policies often
    /// block).
    BlockedByPolicy,
    /// AADSTS50076 / AADSTS50079: multi-factor authentication is required (often with a `claims` challenge).
    MfaRequired,
    /// AADSTS700082: the refresh token expired through inactivity.
    RefreshTokenExpired,
    /// AADSTS50173: the grant was revoked (password change or reset, an administrator's revocation).
    RefreshTokenRevoked,
    /// AADSTS70043: the Conditional Access sign-in frequency has passed.
    SignInFrequency,
    /// AADSTS70020 (`expired_token`): the device code expired before the person finished signing in (Entra's
    /// codes last 15 minutes).
    DeviceCodeExpired,
}

/// The AADSTS codes a person can act on, and what each means: the one list.
const REFUSALS: &[(i64, Refusal)] = &[
    (53003, Refusal::BlockedByPolicy),
    (50076, Refusal::MfaRequired),
    (50079, Refusal::MfaRequired),
    (700082, Refusal::RefreshTokenExpired),
    (50173, Refusal::RefreshTokenRevoked),
    (70043, Refusal::SignInFrequency),
    (70020, Refusal::DeviceCodeExpired),
];

impl Refusal {
    /// The refusal among Entra's `error_codes` (the first one listed that is known).
    pub fn from_codes(codes: &[i64]) -> Option<Refusal> {
        codes.iter().find_map(|code| {
            REFUSALS
                .iter()
                .find(|(known, _)| known == code)
                .map(|(_, refusal)| *refusal)
        })
    }

    /// The AADSTS code of this refusal (the first listed, for a refusal with several).
    pub fn code(self) -> i64 {
        REFUSALS
            .iter()
            .find(|(_, refusal)| *refusal == self)
            .map(|(code, _)| *code)
            .expect("every refusal is listed")
    }

    /// Whether a new interactive sign-in (a person at a browser or a device-code page) fixes it, so that a
    /// user flow holding a refused refresh token signs in again instead of failing.
    pub fn needs_new_sign_in(self) -> bool {
        match self {
            Refusal::MfaRequired
            | Refusal::RefreshTokenExpired
            | Refusal::RefreshTokenRevoked
            | Refusal::SignInFrequency => true,
            // The refusal ends a sign-in the person did not finish; starting another on its own would only wait
            // for them again.
            Refusal::BlockedByPolicy | Refusal::DeviceCodeExpired => false,
        }
    }
}

/// The sentence to show after Entra's `AADSTSnnnnn:` line (callers print it as a `hint:` line).
pub fn next_step(refusal: Refusal, flow: Flow) -> &'static str {
    use Flow::*;
    use Refusal::*;
    match (refusal, flow) {
        (BlockedByPolicy, KubeloginDeviceCode) => {
            "device code sign-in is blocked by your organisation's Conditional Access policy; use `--login \
             interactive` (a browser) instead: `kubelogin convert-kubeconfig -l interactive` switches the kubeconfig"
        }
        (BlockedByPolicy, LoginDeviceCode) => {
            "device code sign-in is blocked by your organisation's Conditional Access policy; run `aksctl login` \
             (a browser) or `aksctl login --use-paste-back` (no local browser) instead"
        }
        (BlockedByPolicy, KubeloginInteractive | SharedLogin | LoginInteractive) => {
            "the sign-in is blocked by your organisation's Conditional Access policy; sign in from a device and \
             place the policy allows, or ask your administrator what it requires"
        }
        (MfaRequired, KubeloginDeviceCode | KubeloginInteractive) => {
            "your organisation requires multi-factor authentication; run the command again and complete it in \
             the sign-in it starts (`--login interactive` opens a browser)"
        }
        (MfaRequired, SharedLogin) => {
            "your organisation requires multi-factor authentication; run `az login` (or `aksctl login`) for \
             this tenant to complete it"
        }
        (MfaRequired, LoginDeviceCode | LoginInteractive) => {
            "your organisation requires multi-factor authentication; run `aksctl login` again and complete it"
        }
        (
            RefreshTokenExpired | RefreshTokenRevoked | SignInFrequency,
            KubeloginDeviceCode | KubeloginInteractive,
        ) => "the saved sign-in is no longer valid; sign in again",
        (RefreshTokenExpired | RefreshTokenRevoked | SignInFrequency, SharedLogin) => {
            "the saved sign-in is no longer valid; run `az login` (or `aksctl login`) to sign in again"
        }
        (
            RefreshTokenExpired | RefreshTokenRevoked | SignInFrequency,
            LoginDeviceCode | LoginInteractive,
        ) => "the saved sign-in is no longer valid; run `aksctl login` to sign in again",
        (DeviceCodeExpired, LoginDeviceCode) => {
            "the code expired before the sign-in was finished; run `aksctl login --use-device-code` again and \
             enter the new code within the time it gives"
        }
        (DeviceCodeExpired, KubeloginDeviceCode) => {
            "the code expired before the sign-in was finished; run the command again and enter the new code \
             within the time it gives"
        }
        (DeviceCodeExpired, KubeloginInteractive | SharedLogin | LoginInteractive) => {
            "the device code expired before the sign-in was finished; sign in again"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_refusals_and_back() {
        assert_eq!(
            Refusal::from_codes(&[53003]),
            Some(Refusal::BlockedByPolicy)
        );
        assert_eq!(
            Refusal::from_codes(&[1, 700082]),
            Some(Refusal::RefreshTokenExpired)
        );
        assert_eq!(Refusal::from_codes(&[7000215]), None);
        for (code, refusal) in REFUSALS {
            assert_eq!(Refusal::from_codes(&[*code]), Some(*refusal));
        }
        assert_eq!(Refusal::MfaRequired.code(), 50076);
        assert!(!Refusal::BlockedByPolicy.needs_new_sign_in());
        assert!(Refusal::RefreshTokenRevoked.needs_new_sign_in());
        // An expired device code ends the sign-in the person did not finish; no new one starts by itself.
        assert_eq!(
            Refusal::from_codes(&[70020]),
            Some(Refusal::DeviceCodeExpired)
        );
        assert!(!Refusal::DeviceCodeExpired.needs_new_sign_in());
    }

    #[test]
    fn device_code_blocks_point_at_the_browser() {
        assert!(
            next_step(Refusal::BlockedByPolicy, Flow::KubeloginDeviceCode)
                .contains("use `--login interactive` (a browser)")
        );
        assert!(
            next_step(Refusal::BlockedByPolicy, Flow::LoginDeviceCode)
                .contains("`aksctl login --use-paste-back`")
        );
        assert!(
            next_step(Refusal::RefreshTokenExpired, Flow::SharedLogin)
                .contains("run `az login` (or `aksctl login`)")
        );
    }
}
