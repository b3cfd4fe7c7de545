//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) for public clients redirected to a loopback
//! listener (RFC 8252 §7.3), as azidentity's InteractiveBrowserCredential and kubelogin `-l interactive` use it
//! (Azure/kubelogin: `pkg/internal/token/interactivebrowsercredential.go`):
//!
//! * `GET /{tenant}/oauth2/v2.0/authorize` signs a user in at once (the emulator has no sign-in page) and answers
//!   `302` to `redirect_uri` with `code` and `state`, or with `error`/`error_description` (RFC 6749 §4.1.2.1) —
//!   or, with `response_mode=form_post` (MSAL Python, az), Entra's page that POSTs them to `redirect_uri`;
//!   an unknown tenant or client and a `redirect_uri` that is not an `http` loopback URI are answered with a
//!   `400` Entra error body instead, as they must never be redirected to.
//! * `grant_type=authorization_code` on the token endpoint redeems a code once, for the client and
//!   `redirect_uri` it was issued to, with the PKCE `code_verifier` whose S256 hash is the `code_challenge`.
//!
//! Who signs in: the oldest decision queued through the management API (`POST /_emulator/authorize/approve`
//! with an optional `user`, or `POST /_emulator/authorize/decline`), else the directory user `login_hint` names,
//! else the seeded user (`admin@emulator.local`, the device-code approval default). Codes are kept only as
//! SHA-256 hashes, in memory.

use std::collections::VecDeque;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use url::Url;

use super::{
    ErrorTrace, Form, SignIn, TokenRequest, entra_error, error_uri, interactive_mfa, missing,
    not_in_tenant, realm, requested, user_grant_client, user_tokens,
};
use crate::ADMIN_USER_NAME;
use crate::directory::Realm;
use crate::http::{Ctx, html_escape, html_page, json};
use crate::state::{SharedState, now_ms, random_guid, random_hex};

/// Lifetime of an authorization code, ms (Entra: "about 10 minutes").
const CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// Interactive sign-ins in flight: codes issued and decisions queued by the management API. In memory only; no
/// `Debug`, as it holds secret hashes.
#[derive(Default)]
pub(crate) struct SignIns {
    codes: Vec<IssuedCode>,
    decisions: VecDeque<Decision>,
}

/// An authorization code, by the SHA-256 of its text.
struct IssuedCode {
    hash: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: String,
    user_object_id: String,
    /// The realm of the authority `/authorize` was called at.
    realm: Realm,
    /// Whether the sign-in did MFA (see [`interactive_mfa`]).
    mfa: bool,
    expires_ms: u64,
    redeemed: bool,
}

/// What the next `/authorize` request does instead of the default sign-in.
enum Decision {
    /// Sign this user (object id) in.
    Approve(String),
    /// The user cancels: `error=access_denied`.
    Decline,
}

fn sha256(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        text.as_bytes(),
    ))
}

/// The `redirect_uri` as a URL when it is an `http` loopback URI (`localhost`, `127.0.0.1` or `[::1]`, any port
/// and path), the only kind a public client may use with the emulator.
fn loopback(redirect_uri: &str) -> Option<Url> {
    let url = Url::parse(redirect_uri).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(address) => address.is_loopback(),
        url::Host::Ipv6(address) => address.is_loopback(),
    };
    (url.scheme() == "http" && loopback && url.fragment().is_none()).then_some(url)
}

/// A `302` to `target`.
fn redirect(target: &Url) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(target.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

/// How `/authorize` sends its answer back (`response_mode`): a `302` to `redirect_uri` with the parameters in the
/// query, or, for `form_post` (what MSAL Python and so az ask for), a page whose form the browser POSTs at once to
/// `redirect_uri`, as Entra does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResponseMode {
    Query,
    FormPost,
}

/// The answer to the client: `parameters` delivered to `target` in `mode` (a form posts to `redirect_uri` as
/// the client sent it).
fn respond(
    target: &Url,
    redirect_uri: &str,
    mode: ResponseMode,
    parameters: &[(&str, String)],
) -> Response {
    match mode {
        ResponseMode::Query => {
            let mut target = target.clone();
            target.query_pairs_mut().extend_pairs(parameters);
            redirect(&target)
        }
        ResponseMode::FormPost => form_post_page(redirect_uri, parameters),
    }
}

/// An attribute value: HTML-escaped, line breaks as character references so the value stays on one line and a
/// browser posts it unchanged.
fn attribute(value: &str) -> String {
    html_escape(value)
        .replace('\r', "&#13;")
        .replace('\n', "&#10;")
}

/// Entra's `form_post` answer: a `200` HTML page with one hidden input per parameter in a form that a script
/// submits (`POST`, `application/x-www-form-urlencoded`) to the redirect URI on load.
fn form_post_page(redirect_uri: &str, parameters: &[(&str, String)]) -> Response {
    let inputs: String = parameters
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\" />\n",
                html_escape(name),
                attribute(value)
            )
        })
        .collect();
    let page = format!(
        "<html><head><title>Working...</title></head><body>\n<form method=\"POST\" name=\"hiddenform\" action=\"{}\">\n{inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript>\n</form>\n<script language=\"javascript\">document.forms[0].submit();</script></body></html>\n",
        attribute(redirect_uri)
    );
    html_page(StatusCode::OK, page)
}

/// Where and how refusals and the code go back to the client.
struct Reply<'a> {
    ctx: &'a Ctx,
    target: Url,
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

impl Reply<'_> {
    /// The OAuth error answer (RFC 6749 §4.1.2.1): `error`, `error_description` (with Entra's `AADSTS` code and
    /// trace lines when `code` is given), `error_subcode`, `error_uri`, and `state` echoed.
    fn error(
        &self,
        error: &str,
        subcode: Option<&str>,
        code: Option<u32>,
        description: &str,
    ) -> Response {
        let description = match code {
            Some(code) => ErrorTrace::new(self.ctx).description(code, description),
            None => description.to_string(),
        };
        let mut parameters = vec![
            ("error", error.to_owned()),
            ("error_description", description),
        ];
        if let Some(subcode) = subcode {
            parameters.push(("error_subcode", subcode.to_owned()));
        }
        if let Some(code) = code {
            parameters.push(("error_uri", error_uri(self.ctx, code)));
        }
        if let Some(state) = &self.state {
            parameters.push(("state", state.clone()));
        }
        tracing::info!(error, "authorization request refused");
        respond(&self.target, &self.redirect_uri, self.mode, &parameters)
    }

    /// The code, `state` echoed and a `session_state`.
    fn code(&self, code: String) -> Response {
        let mut parameters = vec![("code", code)];
        if let Some(state) = &self.state {
            parameters.push(("state", state.clone()));
        }
        parameters.push(("session_state", random_guid()));
        respond(&self.target, &self.redirect_uri, self.mode, &parameters)
    }
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: sign the chosen user in and redirect to the loopback `redirect_uri`
/// with a code.
pub(super) fn authorize(state: &SharedState, ctx: &Ctx, tenant: &str) -> Response {
    let form = Form(ctx.query.clone());
    let realm = match realm(state, ctx, tenant) {
        Ok(realm) => realm,
        Err(response) => return response,
    };
    // Errors about the client and the redirect URI itself are never redirected (RFC 6749 §4.1.2.1).
    let client_id = match user_grant_client(ctx, state, &form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let Some(redirect_uri) = form.get("redirect_uri") else {
        return missing(ctx, "redirect_uri");
    };
    let Some(target) = loopback(&redirect_uri) else {
        return entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
            ),
        );
    };
    let reply = match response_mode(&form) {
        Ok(mode) => Reply {
            ctx,
            target,
            redirect_uri: redirect_uri.clone(),
            mode,
            state: form.get("state"),
        },
        Err(response) => return response,
    };
    let fail = |error: &str, code: Option<u32>, description: &str| {
        reply.error(error, None, code, description)
    };
    let (scope, challenge) = match code_request(&form, &fail) {
        Ok(request) => request,
        Err(response) => return response,
    };

    let user = match signing_in_user(state, &form, &realm, tenant, &client_id) {
        Ok(user) => user,
        Err(refusal) => {
            return reply.error(
                "access_denied",
                refusal.subcode,
                Some(refusal.code),
                &refusal.description,
            );
        }
    };
    let mfa = interactive_mfa(state, &user, form.get("claims").as_deref());
    let mut store = state.store();
    let code = format!("1.AQ{}", random_hex(160));
    let now = now_ms();
    store
        .services
        .get_mut::<SignIns>()
        .codes
        .retain(|issued| issued.expires_ms + CODE_LIFETIME_MS > now);
    store.services.get_mut::<SignIns>().codes.push(IssuedCode {
        hash: sha256(&code),
        client_id,
        redirect_uri,
        scope,
        challenge,
        user_object_id: user.object_id.clone(),
        realm,
        mfa,
        expires_ms: now + CODE_LIFETIME_MS,
        redeemed: false,
    });
    drop(store);
    tracing::info!(user = %user.user_principal_name, "interactive sign-in: issued an authorization code");
    reply.code(code)
}

/// The `response_mode` asked for (`query` when absent); `fragment` and unknown modes are refused.
fn response_mode(form: &Form) -> Result<ResponseMode, Response> {
    match form.get("response_mode").as_deref() {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        // The emulator's own refusal: a loopback listener cannot read a fragment.
        Some(mode) => Err(json(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": "invalid_request",
                "error_description": format!(
                    "The local cloud emulator answers authorization requests with response_mode=query or form_post, not '{mode}'."
                ),
            }),
        )),
    }
}

/// The scope and PKCE challenge of an authorization-code request, or the error redirect (`fail`) for a missing or
/// unsupported parameter.
fn code_request(
    form: &Form,
    fail: &dyn Fn(&str, Option<u32>, &str) -> Response,
) -> Result<(String, String), Response> {
    let missing_parameter = |name: &str| {
        fail(
            "invalid_request",
            Some(900144),
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    match form.get("response_type").as_deref() {
        None => return Err(missing_parameter("response_type")),
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                Some(700054),
                &format!("response_type '{other}' is not enabled for the application."),
            ));
        }
    }
    let Some(scope) = form.get("scope") else {
        return Err(missing_parameter("scope"));
    };
    // Entra lets native clients omit PKCE; the emulator insists, as every client it serves sends it.
    let Some(challenge) = form.get("code_challenge") else {
        return Err(missing_parameter("code_challenge"));
    };
    let method = form.get("code_challenge_method").unwrap_or_default();
    if method != "S256" {
        return Err(fail(
            "invalid_request",
            None,
            &format!(
                "The local cloud emulator requires code_challenge_method=S256 (PKCE), not '{method}'."
            ),
        ));
    }
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(&challenge).is_err() {
        return Err(fail(
            "invalid_request",
            Some(501491),
            "Invalid size of Code_Challenge parameter.",
        ));
    }
    Ok((scope, challenge))
}

/// Whether `issued` may be redeemed by this request: not yet redeemed, not expired, by its client and redirect
/// URI, with the PKCE verifier of its challenge. The refusal is an AADSTS code and description.
fn check_code(
    issued: &IssuedCode,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
    now: u64,
) -> Result<(), (u32, String)> {
    if issued.redeemed {
        return Err((
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".to_string(),
        ));
    }
    if issued.expires_ms <= now {
        return Err((
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".to_string(),
        ));
    }
    if !issued.client_id.eq_ignore_ascii_case(client_id) {
        // Invented wording beyond the code.
        return Err((
            70000,
            "Provided grant is invalid or malformed: the authorization code was issued to another client.".to_string(),
        ));
    }
    if issued.redirect_uri != redirect_uri {
        return Err((
            500112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                issued.redirect_uri
            ),
        ));
    }
    if sha256(verifier) != issued.challenge {
        tracing::info!("authorization code redemption with a wrong PKCE verifier");
        return Err((
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.".to_string(),
        ));
    }
    Ok(())
}

/// Why nobody signs in at `/authorize`: an `access_denied` redirect with this AADSTS code.
struct Refusal {
    subcode: Option<&'static str>,
    code: u32,
    description: String,
}

/// Who signs in at `/authorize`: the oldest queued decision, else the user `login_hint` names, else the seeded
/// user; refused when declined, unknown, or without an account in the realm's tenant.
fn signing_in_user(
    state: &SharedState,
    form: &Form,
    realm: &Realm,
    tenant: &str,
    client_id: &str,
) -> Result<crate::state::User, Refusal> {
    let refusal = |code: u32, description: String| Refusal {
        subcode: None,
        code,
        description,
    };
    let mut store = state.store();
    let user = match store.services.get_mut::<SignIns>().decisions.pop_front() {
        Some(Decision::Decline) => {
            return Err(Refusal {
                subcode: Some("cancel"),
                code: 65004,
                description: "User declined to consent to access the app.".into(),
            });
        }
        Some(Decision::Approve(object_id)) => store
            .directory
            .user_by_object_id(&object_id)
            .cloned()
            .ok_or_else(|| {
                refusal(
                    50034,
                    "The approving user no longer exists in the directory.".into(),
                )
            })?,
        None => {
            let name = form
                .get("login_hint")
                .unwrap_or_else(|| ADMIN_USER_NAME.to_string());
            store.directory.user(&name).cloned().ok_or_else(|| {
                refusal(
                    50034,
                    format!(
                        "The user account {name} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory."
                    ),
                )
            })?
        }
    };
    if store.directory.membership(&user, realm).is_none() {
        return Err(refusal(50020, not_in_tenant(&user, tenant, client_id)));
    }
    Ok(user)
}

/// `grant_type=authorization_code`: redeem a code from [`authorize`] once, with the same client and
/// `redirect_uri` and the PKCE verifier of its challenge.
pub(super) fn redeem(state: &SharedState, ctx: &Ctx, grant: &TokenRequest) -> Response {
    let TokenRequest { form, tenant, .. } = *grant;
    let client_id = match user_grant_client(ctx, state, form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let Some(code) = form.get("code") else {
        return missing(ctx, "code");
    };
    let Some(redirect_uri) = form.get("redirect_uri") else {
        return missing(ctx, "redirect_uri");
    };
    let invalid_grant = |code: u32, description: &str| {
        entra_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            code,
            description,
        )
    };
    let hash = sha256(&code);
    let verifier = form.get("code_verifier").unwrap_or_default();
    let now = now_ms();
    // Every check and the redemption under one lock, so a code is never redeemed twice.
    let redeemed = {
        let mut store = state.store();
        let Some(issued) = store
            .services
            .get_mut::<SignIns>()
            .codes
            .iter_mut()
            .find(|issued| issued.hash == hash)
        else {
            // Invented wording beyond the code: Entra's text for an unknown code varies.
            return invalid_grant(70000, "Provided grant is invalid or malformed.");
        };
        if let Err((code, description)) =
            check_code(issued, &client_id, &redirect_uri, &verifier, now)
        {
            return invalid_grant(code, &description);
        }
        issued.redeemed = true;
        let (object_id, scope) = (issued.user_object_id.clone(), issued.scope.clone());
        let (realm, mfa) = (issued.realm.clone(), issued.mfa);
        store
            .directory
            .user_by_object_id(&object_id)
            .cloned()
            .map(|user| (user, scope, realm, mfa))
    };
    let Some((user, scope, realm, mfa)) = redeemed else {
        return invalid_grant(
            70000,
            "Provided grant is invalid or malformed: the signed-in user no longer exists.",
        );
    };
    // The token request's scope when it names one, else the scope the user consented to at /authorize.
    let scope_form = if form.get("scope").is_some() {
        Form(form.0.clone())
    } else {
        Form(vec![("scope".to_string(), scope)])
    };
    let requested = match requested(ctx, &scope_form, true, false) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    let sign_in = SignIn {
        user: &user,
        realm: &realm,
        tenant,
        client_id: &client_id,
        requested: &requested,
        v2: true,
        mfa,
    };
    user_tokens(state, ctx, &sign_in)
}

/// Queue the outcome of the next `/authorize` request: sign `user` (a user principal name) in, or decline
/// (`None`). For the management API.
pub(crate) fn queue_decision(state: &SharedState, user: Option<&str>) -> Result<(), String> {
    let mut store = state.store();
    let decision = match user {
        Some(name) => Decision::Approve(
            store
                .directory
                .user(name)
                .map(|user| user.object_id.clone())
                .ok_or_else(|| format!("no user '{name}' in the directory"))?,
        ),
        None => Decision::Decline,
    };
    store
        .services
        .get_mut::<SignIns>()
        .decisions
        .push_back(decision);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_loopback_redirects_are_accepted() {
        for good in [
            "http://localhost:8400",
            "http://localhost:8400/callback?x=1",
            "http://127.0.0.1:1/",
            "http://[::1]:9000",
            "http://LOCALHOST",
        ] {
            assert!(loopback(good).is_some(), "{good}");
        }
        for bad in [
            "https://localhost:8400",
            "http://example.com/",
            "http://localhost.example.com/",
            "http://10.0.0.1:80/",
            "http://localhost:8400/#frag",
            "not a url",
        ] {
            assert!(loopback(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn challenge_is_the_rfc_7636_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        assert_eq!(
            sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
