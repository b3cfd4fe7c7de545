//! The device authorization grant (RFC 8628) as Entra serves it (Microsoft identity platform docs,
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>):
//!
//! * `POST /{tenant}/oauth2/v2.0/devicecode` (v1 `/oauth2/devicecode` with `resource`) starts a sign-in and names
//!   the emulator's own verification page, `https://127.0.0.1:P/devicelogin`, in `verification_uri` and
//!   `message`;
//! * a person approves or declines it on that page (user code, user name, password), or a test does through
//!   `POST /_emulator/devicecode/approve|decline`;
//! * the client polls the token endpoint: `authorization_pending` until then, then the approving user's tokens
//!   for the realm the sign-in started in (`organizations`/`common`: the user's home tenant), or
//!   `authorization_declined`, `expired_token`, or AADSTS53003 when the `device_code_blocked` switch names the
//!   user ([`super::policy`]).
//!
//! A device-code sign-in is interactive: it does MFA when the `mfa_required` switch names the user or the
//! client's `claims` ask for the authentication context.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    Form, Requested, SignIn, TokenRequest, entra_error, interactive_mfa, missing, realm, requested,
    user_grant_client, user_tokens,
};
use crate::directory::Realm;
use crate::http::{Ctx, html_escape as escape, html_page, json};
use crate::state::{SharedState, Store, User, now_ms, random_hex};

/// Lifetime of a device code, seconds (Entra: 15 minutes).
const LIFETIME: u64 = 900;
/// Poll interval the device-code answer asks for, seconds. Invented: Entra says 5; 1 keeps tests quick.
const INTERVAL: u64 = 1;

/// Where a device-code sign-in stands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Status {
    /// Waiting for the user.
    Pending,
    /// Approved by this user (home object id).
    Approved(String),
    /// Declined by the user.
    Declined,
}

/// The device-code sign-ins in flight (in memory only, in [`ServiceData`](crate::state::ServiceData)).
pub(crate) type DeviceCodes = Vec<Flow>;

/// A device-code sign-in. In memory only; no `Debug`, as the device code is a secret.
#[derive(Clone)]
pub(crate) struct Flow {
    /// What the client polls with. Secret.
    device_code: String,
    /// What the user types.
    user_code: String,
    /// The public client that started it.
    client_id: String,
    /// The requested scopes (space separated), or the v1 `resource`.
    scope: String,
    /// The realm of the authority it started at.
    realm: Realm,
    /// The client's `claims` request parameter, if any.
    claims: Option<String>,
    /// Expiry, ms since the epoch.
    expires_ms: u64,
    /// Approval state.
    status: Status,
}

/// A user code like Entra's: nine upper-case letters and digits.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(9)
        .map(|byte| ALPHABET[(*byte as usize) % ALPHABET.len()] as char)
        .collect()
}

/// The verification page of this emulator.
fn verification_uri(ctx: &Ctx) -> String {
    format!("{}/devicelogin", ctx.origin)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (`client_id`, `scope`, optional `claims`) and v1 `/oauth2/devicecode`
/// (`resource`): start a device-code sign-in.
pub(super) fn start(state: &SharedState, ctx: &Ctx, tenant: &str, v2: bool) -> Response {
    let form = Form::parse(ctx);
    let realm = match realm(state, ctx, tenant) {
        Ok(realm) => realm,
        Err(response) => return response,
    };
    let client_id = match user_grant_client(ctx, state, &form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let scope = if v2 {
        form.get("scope")
    } else {
        form.get("resource")
    };
    let Some(scope) = scope else {
        return missing(ctx, if v2 { "scope" } else { "resource" });
    };
    let lifetime = state
        .store()
        .services
        .get_mut::<super::policy::Policies>()
        .device_code_expires_in()
        .unwrap_or(LIFETIME);
    let flow = Flow {
        device_code: format!("DAQABIQEAAAD{}", random_hex(96)),
        user_code: user_code(),
        client_id,
        scope,
        realm,
        claims: form.get("claims"),
        expires_ms: now_ms() + lifetime * 1000,
        status: Status::Pending,
    };
    let uri = verification_uri(ctx);
    let message = format!(
        "To sign in, use a web browser to open the page {uri} and enter the code {} to authenticate.",
        flow.user_code
    );
    let body = if v2 {
        json!({
            "user_code": flow.user_code,
            "device_code": flow.device_code,
            "verification_uri": uri,
            "expires_in": lifetime,
            "interval": INTERVAL,
            "message": message,
        })
    } else {
        json!({
            "user_code": flow.user_code,
            "device_code": flow.device_code,
            "verification_url": uri,
            "expires_in": lifetime.to_string(),
            "interval": INTERVAL.to_string(),
            "message": message,
        })
    };
    tracing::info!(user_code = %flow.user_code, client_id = %flow.client_id, "device code sign-in started");
    let mut store = state.store();
    let now = now_ms();
    store
        .services
        .get_mut::<DeviceCodes>()
        .retain(|flow| flow.expires_ms > now);
    store.services.get_mut::<DeviceCodes>().push(flow);
    drop(store);
    json(StatusCode::OK, &body)
}

/// Polling with `grant_type=urn:ietf:params:oauth:grant-type:device_code` (v1: `device_code`, with `code`).
pub(super) fn poll(state: &SharedState, ctx: &Ctx, grant: &TokenRequest) -> Response {
    let TokenRequest {
        form, tenant, v2, ..
    } = *grant;
    let client_id = match user_grant_client(ctx, state, form, tenant) {
        Ok(client_id) => client_id,
        Err(response) => return response,
    };
    let Some(device_code) = form.get("device_code").or_else(|| form.get("code")) else {
        return missing(ctx, "device_code");
    };
    let flow = state
        .store()
        .services
        .get_mut::<DeviceCodes>()
        .iter()
        .find(|flow| {
            flow.device_code == device_code && flow.client_id.eq_ignore_ascii_case(&client_id)
        })
        .cloned();
    let Some(flow) = flow else {
        // Invented wording: the code is unknown, already redeemed, or belongs to another client.
        return refuse(
            ctx,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the device code is unknown or was already redeemed.",
        );
    };
    if flow.expires_ms <= now_ms() {
        return refuse(
            ctx,
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        );
    }
    let user = match approved_user(state, ctx, &flow) {
        Ok(user) => user,
        Err(response) => return response,
    };
    let scope_form = Form(vec![(
        if v2 { "scope" } else { "resource" }.to_string(),
        flow.scope.clone(),
    )]);
    let requested: Requested = match requested(ctx, &scope_form, v2, false) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    let sign_in = SignIn {
        user: &user,
        realm: &flow.realm,
        tenant,
        client_id: &client_id,
        requested: &requested,
        v2,
        mfa: interactive_mfa(state, &user, flow.claims.as_deref()),
    };
    user_tokens(state, ctx, &sign_in)
}

/// The user who approved a decided sign-in (which is then forgotten), or the answer while it is pending, when
/// it was declined, when the user is gone or when policy blocks device-code sign-ins.
fn approved_user(state: &SharedState, ctx: &Ctx, flow: &Flow) -> Result<User, Response> {
    let object_id = match &flow.status {
        Status::Pending => {
            return Err(refuse(
                ctx,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ));
        }
        Status::Declined => {
            forget(state, flow);
            return Err(refuse(
                ctx,
                "authorization_declined",
                65004,
                "User declined to consent to access the app.",
            ));
        }
        Status::Approved(object_id) => object_id.clone(),
    };
    forget(state, flow);
    let user = state
        .store()
        .directory
        .user_by_object_id(&object_id)
        .cloned();
    let Some(user) = user else {
        return Err(refuse(
            ctx,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed: the approving user no longer exists.",
        ));
    };
    if state
        .store()
        .services
        .get_mut::<crate::entra::policy::Policies>()
        .device_code_blocked(&user)
    {
        tracing::info!(user = %user.user_principal_name, "device-code sign-in blocked by policy");
        return Err(refuse(
            ctx,
            "invalid_grant",
            53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        ));
    }
    Ok(user)
}

/// A `400` Entra error answer of the device-code grant.
fn refuse(ctx: &Ctx, error: &str, code: u32, description: &str) -> Response {
    entra_error(ctx, StatusCode::BAD_REQUEST, error, code, description)
}

/// Drop a decided sign-in: a device code is redeemed once.
fn forget(state: &SharedState, flow: &Flow) {
    state
        .store()
        .services
        .get_mut::<DeviceCodes>()
        .retain(|other| other.device_code != flow.device_code);
}

/// Approve (with `user`, a user principal name) or decline (`None`) the pending device-code sign-in with this
/// user code. For the management API and the verification page. A user who has no account in the tenant the
/// sign-in started at is refused.
pub(crate) fn decide(
    state: &SharedState,
    user_code: &str,
    user: Option<&str>,
) -> Result<(), String> {
    let mut store = state.store();
    let user = match user {
        Some(name) => Some(
            store
                .directory
                .user(name)
                .cloned()
                .ok_or_else(|| format!("no user '{name}' in the directory"))?,
        ),
        None => None,
    };
    let now = now_ms();
    let Store {
        services,
        directory,
        ..
    } = &mut *store;
    let flows = services.get_mut::<DeviceCodes>();
    let position = flows
        .iter()
        .position(|flow| flow.user_code.eq_ignore_ascii_case(user_code.trim()))
        .ok_or_else(|| format!("no device-code sign-in with user code '{user_code}'"))?;
    let flow = &flows[position];
    if flow.expires_ms <= now {
        return Err(format!(
            "the device code with user code '{user_code}' has expired"
        ));
    }
    if flow.status != Status::Pending {
        return Err(format!(
            "the device-code sign-in with user code '{user_code}' was already decided"
        ));
    }
    if let Some(user) = &user
        && directory.membership(user, &flow.realm).is_none()
    {
        return Err(format!(
            "user '{}' has no account in the tenant of the device-code sign-in with user code '{user_code}'",
            user.user_principal_name
        ));
    }
    flows[position].status = match user {
        Some(user) => Status::Approved(user.object_id),
        None => Status::Declined,
    };
    Ok(())
}

/// The pending device-code sign-ins (user code, client, scope, expiry), one entry each, for the management API.
/// Device codes themselves are secrets and are not listed.
pub(crate) fn pending(state: &SharedState) -> Value {
    let now = now_ms();
    let store = state.store();
    let flows: Vec<Value> = store
        .services
        .get::<DeviceCodes>()
        .into_iter()
        .flatten()
        .filter(|flow| flow.expires_ms > now && flow.status == Status::Pending)
        .map(|flow| {
            json!({
                "user_code": flow.user_code,
                "client_id": flow.client_id,
                "scope": flow.scope,
                "expires_on": flow.expires_ms / 1000,
            })
        })
        .collect();
    Value::Array(flows)
}

/// A small HTML page (`body` is already HTML).
pub(super) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    );
    html_page(status, page)
}

/// The sign-in form: code, user name, password; approve or decline.
const FORM: &str = r#"<form method="post" action="/devicelogin">
<p><label>Code <input name="otc" autocomplete="off" required></label></p>
<p><label>User name <input name="username" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<p><button name="action" value="approve">Sign in and approve</button>
<button name="action" value="decline">Decline</button></p>
</form>"#;

/// `GET /devicelogin`: the form; `POST /devicelogin` (form `otc`, `username`, `password`, `action` =
/// `approve`|`decline`): approve as that user (the password is checked) or decline the sign-in.
pub(super) fn page(state: &SharedState, ctx: &Ctx) -> Response {
    let title = "Enter code";
    if ctx.method != axum::http::Method::POST {
        return html(
            StatusCode::OK,
            title,
            &format!("<p>Enter the code displayed on your app or device.</p>\n{FORM}"),
        );
    }
    let form = Form::parse(ctx);
    let code = form.get("otc").unwrap_or_default();
    let action = form.get("action").unwrap_or_else(|| "approve".into());
    let result = match action.as_str() {
        "decline" => decide(state, &code, None).map(|()| "You declined the sign-in.".to_string()),
        "approve" => approve_with_password(state, &form, &code),
        other => Err(format!("unknown action '{other}'")),
    };
    match result {
        Ok(message) => html(
            StatusCode::OK,
            "Done",
            &format!(
                "<p>{}</p>\n<p>You can close this window and return to your app.</p>",
                escape(&message)
            ),
        ),
        Err(message) => html(
            StatusCode::BAD_REQUEST,
            title,
            &format!("<p role=\"alert\">{}</p>\n{FORM}", escape(&message)),
        ),
    }
}

/// Approve the sign-in with `code` as the form's user, once its password checks out.
fn approve_with_password(state: &SharedState, form: &Form, code: &str) -> Result<String, String> {
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let known = state
        .store()
        .directory
        .user(&username)
        .is_some_and(|user| user.password == password);
    if !known {
        tracing::info!(user = %username, "device login page: wrong user name or password");
        return Err("Your account or password is incorrect.".into());
    }
    decide(state, code, Some(&username))?;
    Ok(format!(
        "{username} signed in. The app that showed you the code now continues."
    ))
}
