use serde_json::{Map, Value, json};

use super::*;

const ENV: &str = "login.microsoftonline.com";
const ARM_SCOPES: [&str; 2] = [
    "https://management.core.windows.net//user_impersonation",
    "https://management.core.windows.net//.default",
];
/// `{"uid":"u1","utid":"t1"}`, base64url without padding.
const CLIENT_INFO: &str = "eyJ1aWQiOiJ1MSIsInV0aWQiOiJ0MSJ9";
/// Claims `oid` u1, `preferred_username` Alice@Contoso.com, `sub` s1, `tid` t1.
const ID_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJvaWQiOiJ1MSIsInByZWZlcnJlZF91c2VybmFtZSI6IkFsaWNlQENvbnRvc28uY29tIiwic3ViIjoiczEiLCJ0aWQiOiJ0MSJ9.sig";
const NOW: i64 = 1_764_000_000;

fn strings(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|scope| scope.to_string()).collect()
}

fn body(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn login_body() -> Map<String, Value> {
    body(json!({
        "token_type": "Bearer",
        "scope": ARM_SCOPES.join(" "),
        "expires_in": 3600,
        "ext_expires_in": 7200,
        "access_token": "AT1",
        "refresh_token": "RT1",
        "id_token": ID_TOKEN,
        "client_info": CLIENT_INFO,
        "foci": "1",
    }))
}

fn add(
    cache: &mut TokenCache,
    body: &Map<String, Value>,
    realm: &str,
    grant: Grant,
    now: i64,
) -> Option<String> {
    let requested = strings(&ARM_SCOPES);
    cache.add(
        &TokenResponse {
            client_id: AZURE_CLI_CLIENT_ID,
            environment: ENV,
            realm,
            requested_scopes: &requested,
            grant,
            username: None,
            body,
        },
        now,
    )
}

/// An interactive sign-in of Alice at `realm`.
fn sign_in(cache: &mut TokenCache, realm: &str) -> Option<String> {
    add(cache, &login_body(), realm, Grant::AuthorizationCode, NOW)
}

fn query<'a>(realm: &'a str, scopes: &'a [String]) -> AccessTokenQuery<'a> {
    AccessTokenQuery {
        client_id: AZURE_CLI_CLIENT_ID,
        environment: "Login.MicrosoftOnline.com",
        realm,
        home_account_id: Some("u1.t1"),
        scopes,
        ext_cache_key: None,
    }
}

#[test]
fn an_interactive_login_is_stored_byte_for_byte_as_msal_stores_it() {
    let mut cache = TokenCache::empty("msal_token_cache.json");
    let home = sign_in(&mut cache, "organizations");
    assert_eq!(home.as_deref(), Some("u1.t1"));
    // Written by MSAL Python 1.39 `SerializableTokenCache.add` for the same response (tests/msal_interop.py golden).
    let golden = include_str!("../../../tests/fixtures/msal-1.39-interactive-login.json");
    assert_eq!(String::from_utf8(cache.to_bytes()).unwrap(), golden);
}

#[test]
fn accounts_are_per_environment_grouped_and_matched_by_username_in_any_case() {
    let mut cache = TokenCache::empty("c");
    sign_in(&mut cache, "organizations");
    add(&mut cache, &login_body(), "t1", Grant::DeviceCode, NOW);
    let accounts = cache.accounts(ENV, Some("alice@contoso.COM"));
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(
        accounts[0].realm, "t1",
        "the last entry of a home account wins"
    );
    assert_eq!(accounts[0].local_account_id.as_deref(), Some("u1"));
    assert_eq!(
        accounts[0].account_source.as_deref(),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert!(cache.accounts("login.chinacloudapi.cn", None).is_empty());
    assert!(cache.accounts(ENV, Some("bob@contoso.com")).is_empty());
}

#[test]
fn access_token_search_follows_msal_rules() {
    let mut cache = TokenCache::empty("c");
    sign_in(&mut cache, "t1");
    let default = strings(&["https://management.core.windows.net//.default"]);
    let found = cache
        .find_access_token(&query("t1", &default), NOW)
        .expect("subset of the target");
    assert_eq!(found.secret.expose(), "AT1");
    assert_eq!(found.expires_on, NOW + 3600);

    // Another realm, a scope outside the target, another account: no match.
    assert!(
        cache
            .find_access_token(&query("organizations", &default), NOW)
            .is_none()
    );
    let graph = strings(&["https://graph.microsoft.com/.default"]);
    assert!(cache.find_access_token(&query("t1", &graph), NOW).is_none());
    let mut other = query("t1", &default);
    other.home_account_id = Some("u2.t1");
    assert!(cache.find_access_token(&other, NOW).is_none());

    // Expiry margin: 300 s left counts, 299 s left does not.
    assert!(
        cache
            .find_access_token(&query("t1", &default), NOW + 3600 - 300)
            .is_some()
    );
    assert!(
        cache
            .find_access_token(&query("t1", &default), NOW + 3600 - 299)
            .is_none()
    );
}

#[test]
fn access_tokens_with_ext_cache_key_and_old_unsorted_keys() {
    let mut cache = TokenCache::empty("c");
    let target = "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default";
    let entry = |secret: &str, extra: Option<&str>| {
        let mut entry = body(json!({
            "credential_type": "AccessToken", "secret": secret, "home_account_id": "u1.t1", "environment": ENV,
            "client_id": AZURE_CLI_CLIENT_ID, "target": target, "realm": "t1", "token_type": "Bearer",
            "cached_at": NOW.to_string(), "expires_on": (NOW + 3600).to_string(),
            "extended_expires_on": (NOW + 3600).to_string(),
        }));
        if let Some(extra) = extra {
            entry.insert("ext_cache_key".into(), extra.into());
        }
        entry
    };
    // Keyed the way older MSAL versions did (unsorted target): found by scanning.
    cache.put(
        Section::AccessToken,
        format!("u1.t1-{ENV}-accesstoken-x-t1-{target}"),
        entry("EXT", Some("k1")),
    );
    let scopes = strings(&["https://management.core.windows.net//.default"]);
    assert!(
        cache
            .find_access_token(&query("t1", &scopes), NOW)
            .is_none(),
        "ext_cache_key needs a query with one"
    );
    let mut with_key = query("t1", &scopes);
    with_key.ext_cache_key = Some("k1");
    assert_eq!(
        cache
            .find_access_token(&with_key, NOW)
            .unwrap()
            .secret
            .expose(),
        "EXT"
    );
    cache.put(
        Section::AccessToken,
        format!("old-{target}"),
        entry("OLD", None),
    );
    assert_eq!(
        cache
            .find_access_token(&query("t1", &scopes), NOW)
            .unwrap()
            .secret
            .expose(),
        "OLD"
    );
    with_key.ext_cache_key = Some("k2");
    assert!(cache.find_access_token(&with_key, NOW).is_none());
}

fn refresh_token(
    secret: &str,
    client_id: &str,
    family: Option<&str>,
    modified: i64,
) -> Map<String, Value> {
    let mut entry = body(json!({
        "credential_type": "RefreshToken", "secret": secret, "home_account_id": "u1.t1", "environment": ENV,
        "client_id": client_id, "target": "s", "last_modification_time": modified.to_string(),
    }));
    if let Some(family) = family {
        entry.insert("family_id".into(), family.into());
    }
    entry
}

#[test]
fn refresh_tokens_are_tried_family_first_newest_first_as_msal_does() {
    let mut cache = TokenCache::empty("c");
    cache.put(
        Section::RefreshToken,
        "a".into(),
        refresh_token("OWN-OLD", AZURE_CLI_CLIENT_ID, None, 1),
    );
    cache.put(
        Section::RefreshToken,
        "b".into(),
        refresh_token("OWN-NEW", AZURE_CLI_CLIENT_ID, None, 2),
    );
    cache.put(
        Section::RefreshToken,
        "c".into(),
        refresh_token(
            "FAMILY",
            "1950a258-227b-4e31-a9cf-717495945fc2",
            Some("1"),
            3,
        ),
    );
    cache.put(
        Section::RefreshToken,
        "d".into(),
        refresh_token("STRANGER", "another-app", None, 9),
    );
    let secrets = |cache: &TokenCache| -> Vec<String> {
        cache
            .refresh_tokens(ENV, "u1.t1", AZURE_CLI_CLIENT_ID)
            .iter()
            .map(|token| token.secret.expose().to_string())
            .collect()
    };
    // No AppMetadata for az yet: family "1" tokens first.
    assert_eq!(secrets(&cache), ["FAMILY", "OWN-NEW", "OWN-OLD"]);
    // AppMetadata without family_id (the response had no foci): only az's own.
    let metadata = body(json!({"client_id": AZURE_CLI_CLIENT_ID, "environment": ENV}));
    cache.put(Section::AppMetadata, "m".into(), metadata.clone());
    assert_eq!(secrets(&cache), ["OWN-NEW", "OWN-OLD"]);
    // AppMetadata with family_id: the family's, then its own.
    let mut family = metadata;
    family.insert("family_id".into(), "1".into());
    cache.put(Section::AppMetadata, "m".into(), family);
    assert_eq!(secrets(&cache), ["FAMILY", "OWN-NEW", "OWN-OLD"]);
    assert!(
        cache
            .refresh_tokens(ENV, "u2.t1", AZURE_CLI_CLIENT_ID)
            .is_empty()
    );
    assert!(
        format!(
            "{:?}",
            cache.refresh_tokens(ENV, "u1.t1", AZURE_CLI_CLIENT_ID)
        )
        .contains("<redacted>")
    );
}

#[test]
fn a_refresh_adds_no_account_and_updates_the_refresh_token_in_place() {
    let mut cache = TokenCache::empty("c");
    sign_in(&mut cache, "organizations");
    let old = cache
        .refresh_tokens(ENV, "u1.t1", AZURE_CLI_CLIENT_ID)
        .remove(0);
    let mut refreshed = login_body();
    refreshed.insert("access_token".into(), "AT2".into());
    refreshed.insert("refresh_token".into(), "RT2".into());
    refreshed.remove("foci");
    add(&mut cache, &refreshed, "t1", Grant::RefreshToken, NOW + 10);
    cache.update_refresh_token(&old, "RT2", NOW + 10);

    assert_eq!(
        cache.entries(Section::Account).count(),
        1,
        "no Account on refresh"
    );
    let tokens: Vec<_> = cache.keyed_entries(Section::RefreshToken).collect();
    assert_eq!(tokens.len(), 1, "updated in place, not added");
    assert_eq!(tokens[0].1["secret"], "RT2");
    assert_eq!(
        tokens[0].1["last_modification_time"],
        (NOW + 10).to_string()
    );
    assert_eq!(
        tokens[0].1["family_id"], "1",
        "the old entry's other fields stay"
    );
    let realms: Vec<_> = cache
        .entries(Section::AccessToken)
        .map(|entry| entry["realm"].clone())
        .collect();
    assert_eq!(realms, ["organizations", "t1"]);
    let metadata: Vec<_> = cache.entries(Section::AppMetadata).collect();
    assert_eq!(metadata.len(), 1);
    assert!(
        !metadata[0].contains_key("family_id"),
        "family_id only when the response had foci"
    );
}

#[test]
fn logout_removes_what_az_logout_removes() {
    let mut cache = TokenCache::empty("c");
    sign_in(&mut cache, "organizations");
    // Bob, another account; an AT of another client for Alice; a non-family RT of another client for Alice.
    let bob_info = "eyJ1aWQiOiJ1MiIsInV0aWQiOiJ0MSJ9"; // {"uid":"u2","utid":"t1"}
    let mut bob = login_body();
    bob.insert("client_info".into(), bob_info.into());
    bob.remove("id_token");
    let requested = strings(&ARM_SCOPES);
    cache.add(
        &TokenResponse {
            client_id: AZURE_CLI_CLIENT_ID,
            environment: ENV,
            realm: "organizations",
            requested_scopes: &requested,
            grant: Grant::Password,
            username: Some("bob@contoso.com"),
            body: &bob,
        },
        NOW,
    );
    let mut foreign_at = cache.entries(Section::AccessToken).next().unwrap().clone();
    foreign_at.insert("client_id".into(), "other-app".into());
    cache.put(Section::AccessToken, "foreign-at".into(), foreign_at);
    let mut foreign_rt = refresh_token("FOREIGN", "other-app", None, 1);
    foreign_rt.insert("home_account_id".into(), "u1.t1".into());
    cache.put(Section::RefreshToken, "foreign-rt".into(), foreign_rt);
    // An app-only token of a service principal.
    cache.put(
        Section::AccessToken,
        "sp".into(),
        body(json!({"credential_type": "AccessToken", "secret": "SP", "home_account_id": null, "environment": ENV,
            "client_id": "sp-app", "target": "x", "realm": "t1", "expires_on": "1"})),
    );

    let removed = cache.remove_user(ENV, "ALICE@contoso.com", AZURE_CLI_CLIENT_ID);
    assert_eq!(
        removed, 5,
        "az's AT, the foreign AT, the IdToken, az's RT, the Account"
    );
    fn owners(cache: &TokenCache, section: Section) -> Vec<String> {
        cache
            .entries(section)
            .map(|entry| entry["home_account_id"].to_string())
            .collect()
    }
    assert_eq!(owners(&cache, Section::Account), ["\"u2.t1\""]);
    assert_eq!(owners(&cache, Section::AccessToken), ["\"u2.t1\"", "null"]);
    assert_eq!(
        owners(&cache, Section::RefreshToken),
        ["\"u2.t1\"", "\"u1.t1\""],
        "a non-family foreign RT stays"
    );
    assert_eq!(
        cache.entries(Section::AppMetadata).count(),
        1,
        "AppMetadata stays"
    );
    assert_eq!(
        cache.accounts(ENV, None)[0].username,
        "bob@contoso.com",
        "the ROPC username"
    );

    assert_eq!(cache.remove_service_principal_tokens(ENV, "sp-app"), 1);
    assert_eq!(owners(&cache, Section::AccessToken), ["\"u2.t1\""]);
}

#[test]
fn unknown_sections_entries_and_fields_survive_and_bad_shapes_are_refused() {
    let text = json!({"AccessToken": {"weird-key": {"secret": "x", "future_field": 1}}, "FutureSection": {"a": 1}});
    let mut cache = TokenCache::from_value("c.json", Some(text)).unwrap();
    sign_in(&mut cache, "t1");
    let tree = cache.as_map();
    assert_eq!(tree["FutureSection"], json!({"a": 1}));
    assert_eq!(tree["AccessToken"]["weird-key"]["future_field"], 1);
    assert_eq!(
        tree.keys().next().unwrap(),
        "AccessToken",
        "file order kept"
    );

    for bad in [
        json!([]),
        json!({"RefreshToken": []}),
        json!({"Account": {"k": "v"}}),
    ] {
        let error = TokenCache::from_value("/x/msal_token_cache.json", Some(bad)).unwrap_err();
        assert!(
            error.to_string().contains("/x/msal_token_cache.json"),
            "{error}"
        );
    }
}
