//! MSAL's cache keys (`TokenCache.key_makers`): parts joined with `-`, the whole key lower-cased, except
//! AppMetadata's; a missing part is empty. `target` is the scopes sorted and joined with one space.

/// The scopes as MSAL stores them in `target`: sorted (code-point order), joined with one space.
pub fn target_of<S: AsRef<str>>(scopes: &[S]) -> String {
    let mut sorted: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.join(" ")
}

fn lowered(parts: &[&str]) -> String {
    parts.join("-").to_lowercase()
}

/// `<home_account_id>-<environment>-accesstoken-<client_id>-<realm>-<target>`, or with an `ext_cache_key`
/// `…-atext-<client_id>-<realm>-<target>-<ext_cache_key>`.
pub fn access_token_key(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    realm: &str,
    target: &str,
    ext_cache_key: Option<&str>,
) -> String {
    let home = home_account_id.unwrap_or_default();
    match ext_cache_key.filter(|key| !key.is_empty()) {
        Some(extra) => lowered(&[home, environment, "atext", client_id, realm, target, extra]),
        None => lowered(&[home, environment, "AccessToken", client_id, realm, target]),
    }
}

/// `<home_account_id>-<environment>-refreshtoken-<client_id>--<target>` (no realm: refresh tokens are
/// cross-tenant).
pub fn refresh_token_key(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    target: &str,
) -> String {
    lowered(&[
        home_account_id.unwrap_or_default(),
        environment,
        "RefreshToken",
        client_id,
        "",
        target,
    ])
}

/// `<home_account_id>-<environment>-idtoken-<client_id>-<realm>-`.
pub fn id_token_key(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    realm: &str,
) -> String {
    lowered(&[
        home_account_id.unwrap_or_default(),
        environment,
        "IdToken",
        client_id,
        realm,
        "",
    ])
}

/// `<home_account_id>-<environment>-<realm>`.
pub fn account_key(home_account_id: Option<&str>, environment: &str, realm: &str) -> String {
    lowered(&[home_account_id.unwrap_or_default(), environment, realm])
}

/// `appmetadata-<environment>-<client_id>`, not lower-cased.
pub fn app_metadata_key(environment: &str, client_id: &str) -> String {
    format!("appmetadata-{environment}-{client_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "Uid-1.Tid-2";
    const ENV: &str = "login.microsoftonline.com";
    const AZ: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    #[test]
    fn targets_are_sorted_by_code_point() {
        let scopes = [
            "https://management.core.windows.net//user_impersonation",
            "https://management.core.windows.net//.default",
            "Zeta",
        ];
        assert_eq!(
            target_of(&scopes),
            "Zeta https://management.core.windows.net//.default https://management.core.windows.net//user_impersonation"
        );
    }

    #[test]
    fn keys_follow_msal_recipes() {
        let target = "https://management.core.windows.net//.default https://management.core.windows.net//user_impersonation";
        assert_eq!(
            access_token_key(Some(HOME), ENV, AZ, "Organizations", target, None),
            format!("uid-1.tid-2-{ENV}-accesstoken-{AZ}-organizations-{target}")
        );
        assert_eq!(
            access_token_key(Some(HOME), ENV, AZ, "t", "S", Some("AbC")),
            format!("uid-1.tid-2-{ENV}-atext-{AZ}-t-s-abc")
        );
        assert_eq!(
            access_token_key(None, ENV, "App", "t", "s/.default", None),
            format!("-{ENV}-accesstoken-app-t-s/.default")
        );
        assert_eq!(
            refresh_token_key(Some(HOME), ENV, AZ, target),
            format!("uid-1.tid-2-{ENV}-refreshtoken-{AZ}--{target}")
        );
        assert_eq!(
            id_token_key(Some(HOME), ENV, AZ, "T"),
            format!("uid-1.tid-2-{ENV}-idtoken-{AZ}-t-")
        );
        assert_eq!(
            account_key(Some(HOME), ENV, "Organizations"),
            format!("uid-1.tid-2-{ENV}-organizations")
        );
        assert_eq!(
            app_metadata_key("Login.Example", "ABC"),
            "appmetadata-Login.Example-ABC"
        );
    }
}
