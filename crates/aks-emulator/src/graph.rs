//! Microsoft Graph v1.0, the part `az ad group …` calls (docs/graph-groups.md): groups (create, get, list with
//! `$filter` and paging, delete), members (`$ref` add and remove, list) and `checkMemberGroups`, under `/v1.0/` on
//! the main HTTPS server, whose root the cloud metadata advertises as `microsoftGraphResourceId`. Also Graph's
//! other membership reads, which scripts use beside az: `checkMemberObjects`, `getMemberGroups`,
//! `getMemberObjects` and `GET /groups/{id}/transitiveMembers`. And the look-ups `az role assignment` makes to
//! resolve `--assignee` and to name principals (docs/az-behaviour.md, "Role assignments"): `GET /users?$filter=
//! userPrincipalName eq '…'`, `GET /servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '…')` and
//! `POST /directoryObjects/getByIds`.
//!
//! Memberships live in the directory the token endpoint reads, so a principal added to a group gets that group
//! in the `groups` claim of its next token. Groups nest: a member of group B, where B is a member of A, belongs
//! to A too, in the claim and in every check except the direct lists (`/members`), as in Entra. A membership
//! cycle is not refused (what Entra answers is not in the reference) and ends every walk. Errors are Graph-shaped: `{"error": {"code", "message"}}`
//! (`Request_ResourceNotFound`, `Request_BadRequest`, `Authorization_RequestDenied`, `InvalidAuthenticationToken`).
//!
//! Invented where the real service's behaviour is not in the reference: the `$filter` grammar is the subset az
//! sends (`eq`, `startswith`, `and`, `or`, on `displayName`, `mailNickname`, `description`, `id`,
//! `userPrincipalName`, `appId`, and `any(c:c eq '…')` on `servicePrincipalNames`, compared case-insensitively); the non-admin service principal may read but not write (403, as an app without
//! `Group.ReadWrite.All`).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::entra::{self, TokenProblem};
use crate::http::{Ctx, empty, json};
use crate::state::{Directory, Group, NONADMIN_OBJECT_ID, ServicePrincipal, SharedState, User};

/// The Graph version served (the first path segment, lower case).
const GRAPH_VERSION: &str = "v1.0";

/// Graph's application id, an audience Graph tokens may carry.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The collections whose objects have Graph's membership actions (lower case).
const DIRECTORY_COLLECTIONS: &[&str] =
    &["directoryobjects", "users", "serviceprincipals", "groups"];

/// Graph's membership actions: POSTs that only read, so the read-only principal may call them (lower case).
const MEMBERSHIP_READS: &[&str] = &[
    "checkmembergroups",
    "checkmemberobjects",
    "getmembergroups",
    "getmemberobjects",
];

/// A Graph error answer.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {
            "date": crate::state::rfc3339_now(),
            "request-id": uuid::Uuid::new_v4().to_string(),
        }}}),
    )
}

fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// Route `/v1.0/...`.
pub(crate) fn route(state: &SharedState, ctx: &Ctx) -> Response {
    let caller = match authenticate(state, ctx) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let segments: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    let lower: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    let write = matches!(ctx.method, Method::POST | Method::DELETE | Method::PATCH)
        && !matches!(lower.as_slice(), [_, _, _, action] if MEMBERSHIP_READS.contains(action))
        && lower.as_slice() != [GRAPH_VERSION, "directoryobjects", "getbyids"];
    if write && caller.eq_ignore_ascii_case(NONADMIN_OBJECT_ID) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    match (&ctx.method, lower.as_slice()) {
        (&Method::GET, [_, "groups"]) => list_groups(state, ctx),
        (&Method::GET, [_, "users"]) => list_users(state, ctx),
        (&Method::GET, [_, "serviceprincipals"]) => list_service_principals(state, ctx),
        (&Method::POST, [_, "directoryobjects", "getbyids"]) => get_by_ids(state, ctx),
        (&Method::GET, [_, "users", _]) => get_user(state, segments[2]),
        (&Method::GET, [_, "me"]) => get_user(state, &caller),
        (&Method::POST, [_, "groups"]) => create_group(state, ctx),
        (&Method::GET, [_, "groups", _]) => get_group(state, segments[2]),
        (&Method::DELETE, [_, "groups", _]) => delete_group(state, segments[2]),
        (&Method::GET, [_, "groups", _, "members"]) => list_members(state, ctx, segments[2]),
        (&Method::POST, [_, "groups", _, "members", "$ref"]) => add_member(state, ctx, segments[2]),
        (&Method::DELETE, [_, "groups", _, "members", _, "$ref"]) => {
            remove_member(state, segments[2], segments[4])
        }
        (&Method::GET, [_, "groups", _, "transitivemembers"]) => {
            transitive_members(state, ctx, segments[2])
        }
        (&Method::POST, [_, collection, _, action])
            if DIRECTORY_COLLECTIONS.contains(collection) && MEMBERSHIP_READS.contains(action) =>
        {
            membership_read(state, ctx, segments[2], action)
        }
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'. (The local cloud emulator does not support {} {}.)",
                segments.get(1).copied().unwrap_or_default(),
                ctx.method,
                ctx.path
            ),
        ),
    }
}

/// Check the bearer token (signed by us, in its lifetime, for Graph); the caller's object id.
fn authenticate(state: &SharedState, ctx: &Ctx) -> Result<String, Response> {
    let unauthorized = |message: &str| {
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    };
    let token = ctx
        .bearer_token()
        .ok_or_else(|| unauthorized("Access token is empty."))?;
    let base = state.base_url();
    let with_slash = format!("{base}/");
    let audiences = [
        with_slash.as_str(),
        base,
        GRAPH_APP_ID,
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
    ];
    match entra::verify(state, token, &audiences) {
        Ok(claims) => Ok(claims["oid"].as_str().unwrap_or_default().to_string()),
        Err(TokenProblem::Expired(_)) => Err(unauthorized(
            "Lifetime validation failed, the token is expired.",
        )),
        Err(TokenProblem::WrongAudience(_)) => Err(unauthorized(
            "Access token validation failure. Invalid audience.",
        )),
        Err(_) => Err(unauthorized("Access token validation failure.")),
    }
}

/// Graph ids are hyphenated GUIDs; anything else is `Invalid object identifier`.
fn check_id(id: &str) -> Result<(), Response> {
    if uuid::Uuid::try_parse(id).is_ok() && id.len() == 36 {
        Ok(())
    } else {
        Err(bad_request(&format!("Invalid object identifier '{id}'.")))
    }
}

/// Windows' SID of an Entra object: `S-1-12-1-` and the id's 16 bytes as four little-endian u32.
fn security_identifier(id: &str) -> Value {
    let Ok(uuid) = uuid::Uuid::try_parse(id) else {
        return Value::Null;
    };
    let bytes = uuid.to_bytes_le();
    let parts: Vec<String> = bytes
        .chunks(4)
        .map(|chunk| u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]).to_string())
        .collect();
    Value::String(format!("S-1-12-1-{}", parts.join("-")))
}

/// A group as Graph v1.0 answers it (docs/graph-groups.md), without `@odata.context`.
fn group_view(group: &Group) -> Value {
    let created = group.created.clone().map_or(Value::Null, Value::String);
    json!({
        "id": group.object_id,
        "deletedDateTime": null,
        "classification": null,
        "createdDateTime": created,
        "creationOptions": [],
        "description": group.description,
        "displayName": group.display_name,
        "expirationDateTime": null,
        "groupTypes": [],
        "isAssignableToRole": null,
        "mail": null,
        "mailEnabled": false,
        "mailNickname": group.mail_nickname.clone().unwrap_or_else(|| group.display_name.clone()),
        "membershipRule": null,
        "membershipRuleProcessingState": null,
        "onPremisesDomainName": null,
        "onPremisesLastSyncDateTime": null,
        "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null,
        "onPremisesSecurityIdentifier": null,
        "onPremisesSyncEnabled": null,
        "preferredDataLocation": null,
        "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": created,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityEnabled": true,
        "securityIdentifier": security_identifier(&group.object_id),
        "theme": null,
        "uniqueName": null,
        "visibility": null,
        "onPremisesProvisioningErrors": [],
        "serviceProvisioningErrors": [],
    })
}

/// A user as Graph v1.0 answers it (the default properties), without `@odata.context`.
fn user_view(user: &User) -> Value {
    let (given, surname) = user
        .display_name
        .split_once(' ')
        .map_or((user.display_name.as_str(), ""), |(a, b)| (a, b));
    json!({
        "id": user.object_id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given,
        "jobTitle": null,
        "mail": null,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": user.user_principal_name,
    })
}

/// `GET /v1.0/users/{id or userPrincipalName}` and `GET /v1.0/me` (the caller's own id).
fn get_user(state: &SharedState, id: &str) -> Response {
    let store = state.store();
    let user = store
        .directory
        .user_by_object_id(id)
        .or_else(|| store.directory.user(id))
        .cloned();
    drop(store);
    match user {
        Some(user) => json(StatusCode::OK, &entity(state, "users", user_view(&user))),
        None => not_found(id),
    }
}

/// `@odata.context` + the object, for single-object answers.
fn entity(state: &SharedState, kind: &str, view: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(
        "@odata.context".into(),
        Value::String(format!(
            "{}/v1.0/$metadata#{kind}/$entity",
            state.base_url()
        )),
    );
    if let Value::Object(fields) = view {
        object.extend(fields);
    }
    Value::Object(object)
}

/// A list answer: `@odata.context`, at most the configured page size in `value`, and an absolute
/// `@odata.nextLink` with `$skiptoken` while more remain.
fn page(state: &SharedState, ctx: &Ctx, context: &str, items: Vec<Value>) -> Response {
    let page_size = state.store().page_size.max(1);
    let skip: usize = ctx
        .query("$skiptoken")
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    let value: Vec<Value> = items.iter().skip(skip).take(page_size).cloned().collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}", state.base_url()),
        "value": value,
    });
    if skip + page_size < items.len() {
        let kept: Vec<&str> = ctx
            .raw_query
            .split('&')
            .filter(|pair| {
                !pair.is_empty() && !pair.to_ascii_lowercase().starts_with("$skiptoken=")
            })
            .collect();
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("$skiptoken={}", skip + page_size));
        body["@odata.nextLink"] =
            Value::String(format!("{}{}?{query}", state.base_url(), ctx.path));
    }
    json(StatusCode::OK, &body)
}

/// The request's `$filter`, parsed; Graph's 400 when it is not the subset the emulator knows.
fn request_filter(ctx: &Ctx) -> Result<Option<Filter>, Response> {
    ctx.query("$filter")
        .map(Filter::parse)
        .transpose()
        .map_err(|message| {
            graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid filter clause: {message}"),
            )
        })
}

/// A list answer of `views` kept by the request's `$filter`.
fn filtered_page(state: &SharedState, ctx: &Ctx, context: &str, views: Vec<Value>) -> Response {
    match request_filter(ctx) {
        Ok(filter) => {
            let items = views
                .into_iter()
                .filter(|view| filter.as_ref().is_none_or(|filter| filter.matches(view)))
                .collect();
            page(state, ctx, context, items)
        }
        Err(response) => response,
    }
}

/// `GET /v1.0/groups[?$filter=…]`.
fn list_groups(state: &SharedState, ctx: &Ctx) -> Response {
    let views = state
        .store()
        .directory
        .groups
        .iter()
        .map(group_view)
        .collect();
    filtered_page(state, ctx, "groups", views)
}

/// `GET /v1.0/users[?$filter=…]` (az: `userPrincipalName eq '…'`).
fn list_users(state: &SharedState, ctx: &Ctx) -> Response {
    let views = state
        .store()
        .directory
        .users
        .iter()
        .map(user_view)
        .collect();
    filtered_page(state, ctx, "users", views)
}

/// `GET /v1.0/servicePrincipals[?$filter=…]` (az: `servicePrincipalNames/any(c:c eq '…')`).
fn list_service_principals(state: &SharedState, ctx: &Ctx) -> Response {
    let views = state
        .store()
        .directory
        .service_principals
        .iter()
        .map(service_principal_view)
        .collect();
    filtered_page(state, ctx, "servicePrincipals", views)
}

/// The `types` of `getByIds` and the objects they name, in Graph's `@odata.type` spelling.
const OBJECT_TYPES: &[&str] = &["user", "group", "servicePrincipal"];

/// `POST /v1.0/directoryObjects/getByIds` with `{"ids": [...], "types": [...]}`: the objects found, each with its
/// `@odata.type`, in the order of `ids` (unknown ids are left out, as in Graph); `types` (default: all) limits
/// the kinds looked at. Ids must be GUIDs.
fn get_by_ids(state: &SharedState, ctx: &Ctx) -> Response {
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or(Value::Null);
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return bad_request("Invalid request body: 'ids' is required.");
    };
    let wanted = |kind: &str| match body.get("types").and_then(Value::as_array) {
        Some(types) => types
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case(kind))),
        None => true,
    };
    let store = state.store();
    let directory = &store.directory;
    let mut items = Vec::new();
    for id in ids {
        let Some(id) = id.as_str().filter(|id| uuid::Uuid::try_parse(id).is_ok()) else {
            return bad_request(&format!(
                "Invalid GUID: '{}'.",
                id.as_str().unwrap_or_default()
            ));
        };
        let same = |other: &str| other.eq_ignore_ascii_case(id);
        let found = OBJECT_TYPES.iter().find_map(|kind| match *kind {
            "user" if wanted(kind) => directory
                .users
                .iter()
                .find(|user| same(&user.object_id))
                .map(|user| typed(kind, user_view(user))),
            "group" if wanted(kind) => directory
                .groups
                .iter()
                .find(|group| same(&group.object_id))
                .map(|group| typed(kind, group_view(group))),
            "servicePrincipal" if wanted(kind) => directory
                .service_principals
                .iter()
                .find(|sp| same(&sp.object_id))
                .map(|sp| typed(kind, service_principal_view(sp))),
            _ => None,
        });
        items.extend(found);
    }
    drop(store);
    json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/v1.0/$metadata#directoryObjects", state.base_url()),
            "value": items,
        }),
    )
}

/// `view` with `@odata.type` `#microsoft.graph.{kind}` first, as in lists of mixed directory objects.
fn typed(kind: &str, view: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(
        "@odata.type".into(),
        Value::String(format!("#microsoft.graph.{kind}")),
    );
    if let Value::Object(fields) = view {
        object.extend(fields);
    }
    Value::Object(object)
}

/// A service principal as Graph v1.0 answers it (the properties az reads), without `@odata.context`: its
/// `servicePrincipalNames` hold its appId, as for an application without identifier URIs.
fn service_principal_view(sp: &ServicePrincipal) -> Value {
    json!({
        "id": sp.object_id,
        "accountEnabled": true,
        "appDisplayName": sp.display_name,
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "servicePrincipalNames": [sp.app_id],
        "servicePrincipalType": if sp.managed_identity { "ManagedIdentity" } else { "Application" },
    })
}

/// `POST /v1.0/groups`: 201 and the new group. Duplicate names are allowed, as in Graph.
fn create_group(state: &SharedState, ctx: &Ctx) -> Response {
    let body: Value = match serde_json::from_slice(&ctx.body) {
        Ok(Value::Object(body)) => Value::Object(body),
        _ => return bad_request("Invalid request body: a JSON object is expected."),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(display_name) = text("displayName").filter(|name| !name.is_empty()) else {
        return bad_request(
            "Invalid value specified for property 'displayName' of resource 'Group'.",
        );
    };
    let Some(mail_nickname) = text("mailNickname").filter(|name| !name.is_empty()) else {
        return bad_request(
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        );
    };
    if mail_nickname.contains([
        ' ', '@', '(', ')', '\\', '[', ']', '"', ';', ':', '<', '>', ',',
    ]) {
        return bad_request(
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        );
    }
    let created = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|now| {
            now.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    let group = Group {
        object_id: crate::state::random_guid(),
        display_name,
        mail_nickname: Some(mail_nickname),
        description: text("description"),
        created,
        groups: Vec::new(),
    };
    let view = group_view(&group);
    let mut store = state.store();
    store.directory.groups.push(group);
    state.save_or_log(&store);
    drop(store);
    json(StatusCode::CREATED, &entity(state, "groups", view))
}

/// `GET /v1.0/groups/{id}`.
fn get_group(state: &SharedState, id: &str) -> Response {
    if let Err(response) = check_id(id) {
        return response;
    }
    let store = state.store();
    match find_group(&store.directory, id) {
        Some(group) => {
            let view = group_view(group);
            drop(store);
            json(StatusCode::OK, &entity(state, "groups", view))
        }
        None => not_found(id),
    }
}

fn find_group<'a>(directory: &'a Directory, id: &str) -> Option<&'a Group> {
    directory
        .groups
        .iter()
        .find(|group| group.object_id.eq_ignore_ascii_case(id))
}

/// `DELETE /v1.0/groups/{id}`: 204; the group leaves every member's memberships (and tokens' `groups`).
fn delete_group(state: &SharedState, id: &str) -> Response {
    if let Err(response) = check_id(id) {
        return response;
    }
    let mut store = state.store();
    let directory = &mut store.directory;
    let Some(index) = directory
        .groups
        .iter()
        .position(|group| group.object_id.eq_ignore_ascii_case(id))
    else {
        return not_found(id);
    };
    let removed = directory.groups.remove(index).object_id;
    let keep =
        |groups: &mut Vec<String>| groups.retain(|group| !group.eq_ignore_ascii_case(&removed));
    directory
        .service_principals
        .iter_mut()
        .for_each(|sp| keep(&mut sp.groups));
    directory
        .users
        .iter_mut()
        .for_each(|user| keep(&mut user.groups));
    directory
        .groups
        .iter_mut()
        .for_each(|group| keep(&mut group.groups));
    state.save_or_log(&store);
    empty(StatusCode::NO_CONTENT)
}

/// The direct-membership list of a directory object (service principal, user or group), mutable.
fn memberships_mut<'a>(directory: &'a mut Directory, id: &str) -> Option<&'a mut Vec<String>> {
    if let Some(sp) = directory
        .service_principals
        .iter_mut()
        .find(|sp| sp.object_id.eq_ignore_ascii_case(id))
    {
        return Some(&mut sp.groups);
    }
    if let Some(user) = directory
        .users
        .iter_mut()
        .find(|user| user.object_id.eq_ignore_ascii_case(id))
    {
        return Some(&mut user.groups);
    }
    directory
        .groups
        .iter_mut()
        .find(|group| group.object_id.eq_ignore_ascii_case(id))
        .map(|group| &mut group.groups)
}

/// The direct memberships of a directory object, if it exists.
fn memberships(directory: &Directory, id: &str) -> Option<Vec<String>> {
    let same = |object_id: &str| object_id.eq_ignore_ascii_case(id);
    directory
        .service_principals
        .iter()
        .find(|sp| same(&sp.object_id))
        .map(|sp| sp.groups.clone())
        .or_else(|| {
            directory
                .users
                .iter()
                .find(|user| same(&user.object_id))
                .map(|user| user.groups.clone())
        })
        .or_else(|| find_group(directory, id).map(|group| group.groups.clone()))
}

/// `POST /v1.0/groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{member}"}`: 204.
fn add_member(state: &SharedState, ctx: &Ctx, group_id: &str) -> Response {
    if let Err(response) = check_id(group_id) {
        return response;
    }
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or(Value::Null);
    let Some(reference) = body.get("@odata.id").and_then(Value::as_str) else {
        return bad_request("Invalid request body: '@odata.id' is required.");
    };
    let member = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut store = state.store();
    let Some(group) = find_group(&store.directory, group_id) else {
        return not_found(group_id);
    };
    let group_id = group.object_id.clone();
    if member.eq_ignore_ascii_case(&group_id) {
        return bad_request("A group cannot be a member of itself.");
    }
    let Some(groups) = memberships_mut(&mut store.directory, &member) else {
        return not_found(&member);
    };
    if groups
        .iter()
        .any(|group| group.eq_ignore_ascii_case(&group_id))
    {
        return bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
    }
    groups.push(group_id);
    state.save_or_log(&store);
    empty(StatusCode::NO_CONTENT)
}

/// `DELETE /v1.0/groups/{id}/members/{member}/$ref`: 204.
fn remove_member(state: &SharedState, group_id: &str, member: &str) -> Response {
    if let Err(response) = check_id(group_id) {
        return response;
    }
    let mut store = state.store();
    if find_group(&store.directory, group_id).is_none() {
        return not_found(group_id);
    }
    let Some(groups) = memberships_mut(&mut store.directory, member) else {
        return not_found(member);
    };
    let before = groups.len();
    groups.retain(|group| !group.eq_ignore_ascii_case(group_id));
    if groups.len() == before {
        return not_found(member);
    }
    state.save_or_log(&store);
    empty(StatusCode::NO_CONTENT)
}

/// `GET /v1.0/groups/{id}/members`: the direct members, users, then service principals, then groups, each with
/// `@odata.type`.
fn list_members(state: &SharedState, ctx: &Ctx, group_id: &str) -> Response {
    members(state, ctx, group_id, false)
}

/// `GET /v1.0/groups/{id}/transitiveMembers`: the members and, through nested groups, their members (the nested
/// groups included), in the order of `/members`.
fn transitive_members(state: &SharedState, ctx: &Ctx, group_id: &str) -> Response {
    members(state, ctx, group_id, true)
}

fn members(state: &SharedState, ctx: &Ctx, group_id: &str, transitive: bool) -> Response {
    if let Err(response) = check_id(group_id) {
        return response;
    }
    let store = state.store();
    let directory = &store.directory;
    if find_group(directory, group_id).is_none() {
        return not_found(group_id);
    }
    let member = |object_id: &str, groups: &[String]| {
        let groups = if transitive {
            directory.transitive_groups(groups)
        } else {
            groups.to_vec()
        };
        !object_id.eq_ignore_ascii_case(group_id)
            && groups
                .iter()
                .any(|group| group.eq_ignore_ascii_case(group_id))
    };
    let mut items: Vec<Value> = Vec::new();
    for user in directory
        .users
        .iter()
        .filter(|user| member(&user.object_id, &user.groups))
    {
        items.push(typed("user", user_view(user)));
    }
    for sp in directory
        .service_principals
        .iter()
        .filter(|sp| member(&sp.object_id, &sp.groups))
    {
        items.push(typed("servicePrincipal", service_principal_view(sp)));
    }
    for group in directory
        .groups
        .iter()
        .filter(|group| member(&group.object_id, &group.groups))
    {
        items.push(typed("group", group_view(group)));
    }
    drop(store);
    page(state, ctx, "directoryObjects", items)
}

/// Graph's membership actions on a directory object, all transitive:
/// * `checkMemberGroups` `{"groupIds": [...]}` and `checkMemberObjects` `{"ids": [...]}`: the given ids (as sent)
///   of the groups the object belongs to;
/// * `getMemberGroups` and `getMemberObjects` `{"securityEnabledOnly": bool}`: every group it belongs to (all the
///   emulator's groups are security groups).
fn membership_read(state: &SharedState, ctx: &Ctx, member: &str, action: &str) -> Response {
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or(Value::Null);
    let wanted = match action {
        "checkmembergroups" | "checkmemberobjects" => {
            let key = if action == "checkmembergroups" {
                "groupIds"
            } else {
                "ids"
            };
            let Some(wanted) = body.get(key).and_then(Value::as_array).cloned() else {
                return bad_request(&format!("Invalid request body: '{key}' is required."));
            };
            Some(wanted)
        }
        _ => {
            if !body
                .get("securityEnabledOnly")
                .is_some_and(Value::is_boolean)
            {
                return bad_request("Invalid request body: 'securityEnabledOnly' is required.");
            }
            None
        }
    };
    let store = state.store();
    let Some(direct) = memberships(&store.directory, member) else {
        return not_found(member);
    };
    let all = store.directory.transitive_groups(&direct);
    drop(store);
    let value: Vec<Value> = match wanted {
        Some(wanted) => wanted
            .into_iter()
            .filter(|id| {
                id.as_str()
                    .is_some_and(|id| all.iter().any(|group| group.eq_ignore_ascii_case(id)))
            })
            .collect(),
        None => all.into_iter().map(Value::String).collect(),
    };
    json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/v1.0/$metadata#Collection(Edm.String)", state.base_url()),
            "value": value,
        }),
    )
}

/// The `$filter` subset az sends: `prop eq 'v'`, `startswith(prop,'v')`, joined by `and` / `or` (left to right,
/// `and` binding tighter), with OData's `''` escaping. Comparisons ignore case.
#[derive(Debug, PartialEq)]
enum Filter {
    Eq(String, String),
    StartsWith(String, String),
    /// `collection/any(c:c eq 'v')`: some element of a string collection equals the value.
    Any(String, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// Properties the filter may name, as in Graph (case-insensitive).
const FILTER_PROPERTIES: &[&str] = &[
    "displayName",
    "mailNickname",
    "description",
    "id",
    "userPrincipalName",
    "appId",
    "servicePrincipalNames",
];

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let mut parser = Parser { text, position: 0 };
        let filter = parser.or()?;
        parser.skip_spaces();
        if parser.position < text.len() {
            return Err(format!(
                "syntax error at position {} in '{text}'.",
                parser.position
            ));
        }
        Ok(filter)
    }

    fn matches(&self, object: &Value) -> bool {
        let field = |property: &str| {
            object
                .get(property)
                .and_then(Value::as_str)
                .map(str::to_lowercase)
        };
        match self {
            Filter::Eq(property, value) => {
                field(property).is_some_and(|v| v == value.to_lowercase())
            }
            Filter::StartsWith(property, value) => {
                field(property).is_some_and(|v| v.starts_with(&value.to_lowercase()))
            }
            Filter::Any(property, value) => object
                .get(property)
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items.iter().any(|item| {
                        item.as_str()
                            .is_some_and(|item| item.to_lowercase() == value.to_lowercase())
                    })
                }),
            Filter::And(a, b) => a.matches(object) && b.matches(object),
            Filter::Or(a, b) => a.matches(object) || b.matches(object),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    position: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.position = self.text.len() - trimmed.len();
    }

    fn error(&self, expected: &str) -> String {
        format!(
            "{expected} expected at position {} in '{}'.",
            self.position, self.text
        )
    }

    /// A keyword followed by a space (`and`, `or`, `eq`), case-insensitively.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_spaces();
        let rest = self.rest();
        let matched = rest.len() > word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest[word.len()..].starts_with(' ');
        if matched {
            self.position += word.len();
        }
        matched
    }

    fn punctuation(&mut self, symbol: char) -> Result<(), String> {
        self.skip_spaces();
        if self.rest().starts_with(symbol) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error(&format!("'{symbol}'")))
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, String> {
        self.skip_spaces();
        if self.rest().starts_with('(') {
            self.position += 1;
            let inner = self.or()?;
            self.punctuation(')')?;
            return Ok(inner);
        }
        let name = self.identifier()?;
        if name.eq_ignore_ascii_case("startswith") {
            self.punctuation('(')?;
            let property = self.property()?;
            self.punctuation(',')?;
            let value = self.string()?;
            self.punctuation(')')?;
            return Ok(Filter::StartsWith(property, value));
        }
        let property = canonical_property(&name).ok_or_else(|| {
            format!("Could not find a property named '{name}' on type 'microsoft.graph.group'.")
        })?;
        if self.rest().starts_with('/') {
            return self.any(property);
        }
        if !self.keyword("eq") {
            return Err(self.error("'eq'"));
        }
        let value = self.string()?;
        Ok(Filter::Eq(property, value))
    }

    /// After `collection`: `/any(c:c eq 'v')` (any variable name).
    fn any(&mut self, property: String) -> Result<Filter, String> {
        self.punctuation('/')?;
        if !self.identifier()?.eq_ignore_ascii_case("any") {
            return Err(self.error("'any'"));
        }
        self.punctuation('(')?;
        let variable = self.identifier()?;
        self.punctuation(':')?;
        if self.identifier()? != variable {
            return Err(self.error(&format!("'{variable}'")));
        }
        if !self.keyword("eq") {
            return Err(self.error("'eq'"));
        }
        let value = self.string()?;
        self.punctuation(')')?;
        Ok(Filter::Any(property, value))
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let length = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        if length == 0 {
            return Err(self.error("an identifier"));
        }
        let name = self.rest()[..length].to_string();
        self.position += length;
        Ok(name)
    }

    fn property(&mut self) -> Result<String, String> {
        let name = self.identifier()?;
        canonical_property(&name).ok_or_else(|| {
            format!("Could not find a property named '{name}' on type 'microsoft.graph.group'.")
        })
    }

    /// `'…'` with `''` for a quote.
    fn string(&mut self) -> Result<String, String> {
        self.skip_spaces();
        if !self.rest().starts_with('\'') {
            return Err(self.error("a quoted string"));
        }
        self.position += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(format!("unterminated string literal in '{}'.", self.text));
            };
            self.position += c.len_utf8();
            if c == '\'' {
                if self.rest().starts_with('\'') {
                    self.position += 1;
                    value.push('\'');
                    continue;
                }
                return Ok(value);
            }
            value.push(c);
        }
    }
}

fn canonical_property(name: &str) -> Option<String> {
    FILTER_PROPERTIES
        .iter()
        .find(|property| property.eq_ignore_ascii_case(name))
        .map(|property| (*property).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_az_sends() {
        assert_eq!(
            Filter::parse("displayName eq 'Dev Team' and mailNickname eq 'devteam'").unwrap(),
            Filter::And(
                Box::new(Filter::Eq("displayName".into(), "Dev Team".into())),
                Box::new(Filter::Eq("mailNickname".into(), "devteam".into()))
            )
        );
        let prefix = Filter::parse("startswith(displayName,'Dev')").unwrap();
        assert!(prefix.matches(&json!({"displayName": "dev team"})));
        assert!(!prefix.matches(&json!({"displayName": "QA"})));
        let escaped = Filter::parse("displayName eq 'O''Neil'").unwrap();
        assert!(escaped.matches(&json!({"displayName": "o'neil"})));
        assert!(Filter::parse("displayName eq 'O'Neil'").is_err());
        assert!(Filter::parse("nope eq 'x'").is_err());
        assert!(Filter::parse("displayName eq").is_err());
        let either = Filter::parse("displayName eq 'a' or (displayName eq 'b')").unwrap();
        assert!(either.matches(&json!({"displayName": "B"})));
    }

    fn group(id: &str, parents: &[&str]) -> Group {
        Group {
            object_id: id.into(),
            display_name: id.into(),
            mail_nickname: None,
            description: None,
            created: None,
            groups: parents.iter().map(|parent| (*parent).to_string()).collect(),
        }
    }

    #[test]
    fn nested_memberships_are_transitive_and_cycles_end() {
        let directory = Directory {
            service_principals: Vec::new(),
            // b is in a, c in b, and a in c: a cycle; d is in B (upper case) and in nothing else.
            groups: vec![
                group("a", &["c"]),
                group("b", &["a"]),
                group("c", &["b"]),
                group("d", &["B"]),
                group("e", &[]),
            ],
            users: Vec::new(),
            tenants: Vec::new(),
            cert_client: None,
            identity_header: String::new(),
        };
        assert_eq!(
            directory.transitive_groups(&["d".into()]),
            ["d", "B", "a", "c"]
        );
        assert_eq!(
            directory.transitive_groups(&["c".into(), "e".into()]),
            ["c", "e", "b", "a"]
        );
        assert_eq!(directory.transitive_groups(&[]), Vec::<String>::new());
        assert_eq!(directory.transitive_groups(&["gone".into()]), ["gone"]);
    }

    /// One Graph call as the service principal `client_id`: status and JSON body.
    fn call(
        state: &SharedState,
        client_id: &str,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let principal = state
            .store()
            .directory
            .service_principal(client_id)
            .cloned()
            .unwrap();
        let token = entra::mint_app(state, &principal, state.base_url(), "1").unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let body = if body.is_null() {
            axum::body::Bytes::new()
        } else {
            axum::body::Bytes::from(body.to_string())
        };
        let ctx = Ctx::new(method, &path.parse().unwrap(), headers, body);
        let response = route(state, &ctx);
        let status = response.status();
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn graph_membership_reads_are_transitive_and_members_direct() {
        let dir = tempfile::tempdir().unwrap();
        let state = SharedState::new(&crate::EmulatorOptions::new(dir.path()), 1).unwrap();
        let (admins, team) = (
            crate::ADMIN_GROUP_ID,
            "b0b0b0b0-0000-4000-8000-000000000001",
        );
        {
            let mut store = state.store();
            let directory = &mut store.directory;
            directory.groups.push(group(team, &[admins]));
            directory
                .service_principal_mut(crate::NONADMIN_CLIENT_ID)
                .unwrap()
                .groups = vec![team.to_string()];
        }
        let member = NONADMIN_OBJECT_ID;
        let post = |client: &str, action: &str, body: Value| {
            call(
                &state,
                client,
                Method::POST,
                &format!("/v1.0/directoryObjects/{member}/{action}"),
                body,
            )
        };
        let other = "c0c0c0c0-0000-4000-8000-000000000002";
        for client in [crate::ADMIN_CLIENT_ID, crate::NONADMIN_CLIENT_ID] {
            let (status, body) = post(
                client,
                "checkMemberGroups",
                json!({"groupIds": [admins, other]}),
            );
            assert_eq!((status, &body["value"]), (StatusCode::OK, &json!([admins])));
        }
        let (_, body) = post(
            crate::ADMIN_CLIENT_ID,
            "checkMemberObjects",
            json!({"ids": [other, admins.to_uppercase()]}),
        );
        assert_eq!(
            body["value"],
            json!([admins.to_uppercase()]),
            "ids echoed as sent"
        );
        for action in ["getMemberGroups", "getMemberObjects"] {
            let (_, body) = post(
                crate::ADMIN_CLIENT_ID,
                action,
                json!({"securityEnabledOnly": true}),
            );
            assert_eq!(body["value"], json!([team, admins]), "{action}");
        }
        let (status, _) = post(crate::ADMIN_CLIENT_ID, "getMemberGroups", json!({}));
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let ids = |path: &str| -> Vec<String> {
            let (status, body) = call(
                &state,
                crate::ADMIN_CLIENT_ID,
                Method::GET,
                path,
                Value::Null,
            );
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_string())
                .collect()
        };
        // The seeded admin and certificate principals are direct members of the admin group.
        let direct = ids(&format!("/v1.0/groups/{admins}/members"));
        assert!(direct.contains(&team.to_string()) && !direct.contains(&member.to_string()));
        let all = ids(&format!("/v1.0/groups/{admins}/transitiveMembers"));
        assert!(all.contains(&team.to_string()) && all.contains(&member.to_string()));
        assert_eq!(all.len(), direct.len() + 1);
    }

    #[test]
    fn assignee_look_ups_az_makes() {
        let any = Filter::parse("servicePrincipalNames/any(c:c eq 'ABC')").unwrap();
        assert!(any.matches(&json!({"servicePrincipalNames": ["x", "abc"]})));
        assert!(!any.matches(&json!({"servicePrincipalNames": ["x"]})));
        assert!(Filter::parse("servicePrincipalNames/any(c:d eq 'x')").is_err());
        assert!(Filter::parse("servicePrincipalNames/all(c:c eq 'x')").is_err());

        let dir = tempfile::tempdir().unwrap();
        let state = SharedState::new(&crate::EmulatorOptions::new(dir.path()), 1).unwrap();
        let get = |client: &str, path: &str| {
            let (status, body) = call(&state, client, Method::GET, path, Value::Null);
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body["value"].as_array().unwrap().clone()
        };
        let users = get(
            crate::NONADMIN_CLIENT_ID,
            "/v1.0/users?$filter=userPrincipalName%20eq%20%27ADMIN%40emulator.local%27",
        );
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["userPrincipalName"], crate::ADMIN_USER_NAME);
        let path = format!(
            "/v1.0/servicePrincipals?$filter=servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{}%27%29",
            crate::NONADMIN_CLIENT_ID
        );
        let sps = get(crate::ADMIN_CLIENT_ID, &path);
        assert_eq!(sps.len(), 1);
        assert_eq!(sps[0]["id"], NONADMIN_OBJECT_ID);
        assert!(
            get(
                crate::ADMIN_CLIENT_ID,
                "/v1.0/users?$filter=userPrincipalName%20eq%20%27nobody%40x%27"
            )
            .is_empty()
        );

        // getByIds: users, groups and service principals in the order asked, unknown ids left out, `types` obeyed;
        // a read, so the read-only principal may call it.
        let user_id = users[0]["id"].as_str().unwrap().to_string();
        let unknown = "deadbeef-0000-4000-8000-000000000000";
        let ids = json!([NONADMIN_OBJECT_ID, unknown, crate::ADMIN_GROUP_ID, user_id]);
        let (status, body) = call(
            &state,
            crate::NONADMIN_CLIENT_ID,
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            json!({"ids": ids, "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"]}),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let kinds: Vec<(&str, &str)> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["@odata.type"].as_str().unwrap(),
                    item["id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("#microsoft.graph.servicePrincipal", NONADMIN_OBJECT_ID),
                ("#microsoft.graph.group", crate::ADMIN_GROUP_ID),
                ("#microsoft.graph.user", user_id.as_str()),
            ]
        );
        let (_, body) = call(
            &state,
            crate::ADMIN_CLIENT_ID,
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            json!({"ids": ids, "types": ["group"]}),
        );
        assert_eq!(body["value"].as_array().unwrap().len(), 1);
        let (status, _) = call(
            &state,
            crate::ADMIN_CLIENT_ID,
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            json!({"ids": ["not-a-guid"]}),
        );
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn security_identifiers_like_entra() {
        assert_eq!(
            security_identifier("00000001-0000-0000-0000-000000000000"),
            json!("S-1-12-1-1-0-0-0")
        );
        assert_eq!(security_identifier("nope"), Value::Null);
    }
}
