//! Azure RBAC as ARM serves it: `Microsoft.Authorization` role definitions, role assignments (CRUD, lists and
//! their filters, errors) and permissions at any scope (docs/azure-rbac.md).

use aks_emulator::{SUBSCRIPTION_ID, TENANT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::directory::password_grant;
use crate::support::{Answer, Env, MANAGEMENT_SCOPE, start};

/// The api-version az 2.91 sends for role assignments.
pub const ASSIGNMENTS_API: &str = "2022-04-01";
/// The api-version az 2.91 sends for role definitions.
pub const DEFINITIONS_API: &str = "2022-05-01-preview";

pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const CLUSTER_USER: &str = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f";
pub const CLUSTER_ADMIN: &str = "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

/// Object ids of seeded principals (the emulator's fixed ids).
pub const ADMIN_OBJECT_ID: &str = "1a1a1a1a-1111-2222-3333-444444444444";
pub const NONADMIN_OBJECT_ID: &str = "1b1b1b1b-1111-2222-3333-555555555555";
pub const DEV_USER_OBJECT_ID: &str = "2b2b2b2b-1111-2222-3333-999999999999";

pub fn subscription_scope() -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}")
}

pub fn role_id(guid: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
}

pub fn assignment_path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

/// PUT a role assignment as the admin service principal (Owner of the subscription).
pub async fn assign(env: &Env, scope: &str, name: &str, principal: &str, role: &str) -> Answer {
    env.arm(
        Method::PUT,
        &assignment_path(scope, name),
        ASSIGNMENTS_API,
        Some(&json!({"properties": {"roleDefinitionId": role_id(role), "principalId": principal}})),
    )
    .await
}

/// A GET or DELETE of one role assignment, as the admin service principal.
pub async fn on_assignment(env: &Env, method: Method, scope: &str, name: &str) -> Answer {
    env.arm(method, &assignment_path(scope, name), ASSIGNMENTS_API, None)
        .await
}

/// An ARM token of the non-admin service principal (no role).
pub async fn nonadmin_token(env: &Env) -> String {
    let ready = env.emulator.ready();
    let answer = env
        .token_for(
            &ready.nonadmin_client_id,
            &ready.nonadmin_client_secret,
            MANAGEMENT_SCOPE,
        )
        .await;
    answer.body["access_token"].as_str().unwrap().to_string()
}

/// An ARM token of `dev@emulator.local` (no role, no group).
pub async fn dev_token(env: &Env) -> String {
    let ready = env.emulator.ready();
    let answer = password_grant(
        env,
        TENANT_ID,
        &ready.dev_user_name,
        &ready.dev_user_password,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_string()
}

fn names(answer: &Answer) -> Vec<String> {
    let mut names: Vec<String> = answer.body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.text))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn role_definitions_list_filter_and_get_at_any_scope() {
    let env = start();
    let scope = subscription_scope();
    let all = env
        .arm(
            Method::GET,
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"),
            DEFINITIONS_API,
            None,
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let roles: Vec<&str> = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| role["properties"]["roleName"].as_str().unwrap())
        .collect();
    for expected in [
        "Owner",
        "Contributor",
        "Reader",
        "User Access Administrator",
        "Azure Kubernetes Service Cluster Admin Role",
        "Azure Kubernetes Service Cluster User Role",
        "Azure Kubernetes Service Cluster Monitoring User",
        "Azure Kubernetes Service Contributor Role",
        "Azure Kubernetes Service RBAC Admin",
        "Azure Kubernetes Service RBAC Cluster Admin",
        "Azure Kubernetes Service RBAC Reader",
        "Azure Kubernetes Service RBAC Writer",
    ] {
        assert!(
            roles.contains(&expected),
            "{expected} missing from {roles:?}"
        );
    }

    // az's `--role Reader` look-up: the SDK percent-encodes the filter; the match ignores case.
    let reader = env
        .arm(
            Method::GET,
            &format!(
                "{scope}/resourceGroups/any/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20%27reader%27"
            ),
            DEFINITIONS_API,
            None,
        )
        .await;
    assert_eq!(reader.status, StatusCode::OK, "{}", reader.text);
    assert_eq!(
        reader.body,
        json!({"value": [{
            "properties": {"roleName": "Reader", "type": "BuiltInRole",
                "description": "View all resources, but does not allow you to make any changes.",
                "assignableScopes": ["/"],
                "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}],
                "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2021-11-11T20:13:47.8628684Z",
                "createdBy": null, "updatedBy": null},
            "id": role_id(READER),
            "type": "Microsoft.Authorization/roleDefinitions",
            "name": READER,
        }]})
    );

    // Get by id: subscription-qualified, and the tenant-level form.
    let by_id = env
        .arm(Method::GET, &role_id(CLUSTER_USER), DEFINITIONS_API, None)
        .await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.text);
    assert_eq!(
        by_id.body["properties"]["permissions"][0]["actions"],
        json!([
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read"
        ])
    );
    let root = env
        .arm(
            Method::GET,
            &format!("/providers/Microsoft.Authorization/roleDefinitions/{CLUSTER_ADMIN}"),
            DEFINITIONS_API,
            None,
        )
        .await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.text);
    assert_eq!(
        root.body["id"],
        format!("/providers/Microsoft.Authorization/roleDefinitions/{CLUSTER_ADMIN}")
    );
    assert_eq!(
        root.body["properties"]["roleName"],
        "Azure Kubernetes Service Cluster Admin Role"
    );

    let missing = env
        .arm(
            Method::GET,
            &role_id("00000000-0000-0000-0000-000000000000"),
            DEFINITIONS_API,
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        json!({"error": {"code": "RoleDefinitionDoesNotExist",
            "message": "The specified role definition with ID '00000000-0000-0000-0000-000000000000' does not exist."}})
    );
    let bad_filter = env
        .arm(
            Method::GET,
            &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20ne%20%27x%27"),
            DEFINITIONS_API,
            None,
        )
        .await;
    assert_eq!(
        bad_filter.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_filter.text
    );
    assert_eq!(
        bad_filter.body["error"]["code"],
        "InvalidFilterInQueryString"
    );
}

#[tokio::test]
async fn role_assignments_are_created_read_and_deleted_by_name_and_by_id() {
    let env = start();
    env.create_group("rbac-rg", "westus2").await;
    let scope = format!("{}/resourceGroups/rbac-rg", subscription_scope());
    let name = "3f1c9a10-7d42-4b7e-9a8e-1b2c3d4e5f60";
    let created = assign(&env, &scope, name, NONADMIN_OBJECT_ID, READER).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let created_on = created.body["properties"]["createdOn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        created_on.len(),
        "2023-08-23T12:47:46.5507039Z".len(),
        "{created_on}"
    );
    assert_eq!(
        created.body,
        json!({
            "properties": {"roleDefinitionId": role_id(READER), "principalId": NONADMIN_OBJECT_ID,
                "principalType": "ServicePrincipal", "scope": scope, "condition": null, "conditionVersion": null,
                "createdOn": created_on, "updatedOn": created_on, "createdBy": null,
                "updatedBy": ADMIN_OBJECT_ID, "delegatedManagedIdentityResourceId": null, "description": null},
            "id": assignment_path(&scope, name),
            "type": "Microsoft.Authorization/roleAssignments",
            "name": name,
        })
    );

    // Read by name (scope in any case) and by full id.
    let upper_scope = scope.to_uppercase();
    for path in [
        assignment_path(&upper_scope, name),
        assignment_path(&scope, name),
    ] {
        let read = env.arm(Method::GET, &path, ASSIGNMENTS_API, None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.body["properties"]["createdBy"], ADMIN_OBJECT_ID);
        assert_eq!(read.body["properties"]["principalId"], NONADMIN_OBJECT_ID);
    }

    // The same PUT again is no change; the same grant under another name is a conflict; another grant under the
    // same name is an update ARM does not permit.
    let again = assign(&env, &scope, name, NONADMIN_OBJECT_ID, READER).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let conflict = assign(
        &env,
        &scope,
        "4f1c9a10-7d42-4b7e-9a8e-1b2c3d4e5f61",
        NONADMIN_OBJECT_ID,
        READER,
    )
    .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    assert_eq!(
        conflict.body,
        json!({"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}})
    );
    let update = assign(&env, &scope, name, NONADMIN_OBJECT_ID, CONTRIBUTOR).await;
    assert_eq!(update.status, StatusCode::BAD_REQUEST, "{}", update.text);
    assert_eq!(
        update.body,
        json!({"error": {"code": "RoleAssignmentUpdateNotPermitted",
            "message": "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."}})
    );

    let deleted = on_assignment(&env, Method::DELETE, &scope, name).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.body["name"], name);
    let gone = on_assignment(&env, Method::DELETE, &scope, name).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let read = on_assignment(&env, Method::GET, &scope, name).await;
    assert_eq!(read.status, StatusCode::NOT_FOUND, "{}", read.text);
    assert_eq!(
        read.body,
        json!({"error": {"code": "RoleAssignmentNotFound", "message": format!("The role assignment '{name}' is not found.")}})
    );
}

#[tokio::test]
async fn role_assignment_writes_refuse_bad_names_principals_and_roles() {
    let env = start();
    let scope = subscription_scope();
    let put = |name: &str, body: Value| {
        let path = assignment_path(&scope, name);
        let env = &env;
        async move {
            env.arm(Method::PUT, &path, ASSIGNMENTS_API, Some(&body))
                .await
        }
    };
    let good = "5a000000-0000-4000-8000-000000000001";
    let cases = [
        (
            "not-a-guid",
            json!({"properties": {"roleDefinitionId": role_id(READER), "principalId": NONADMIN_OBJECT_ID}}),
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            "The role assignment ID 'not-a-guid' is not valid. The role assignment ID must be a GUID.".to_string(),
        ),
        (
            good,
            json!({"properties": {"roleDefinitionId": role_id(READER), "principalId": "bob"}}),
            StatusCode::BAD_REQUEST,
            "InvalidPrincipalId",
            "The Principal ID 'bob' is not valid. Principal ID must be a GUID.".to_string(),
        ),
        (
            good,
            json!({"properties": {"roleDefinitionId": "Reader", "principalId": NONADMIN_OBJECT_ID}}),
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
            "The role definition ID 'Reader' is not valid.".to_string(),
        ),
        (
            good,
            json!({"properties": {"roleDefinitionId": role_id("11111111-2222-3333-4444-555555555555"), "principalId": NONADMIN_OBJECT_ID}}),
            StatusCode::NOT_FOUND,
            "RoleDefinitionDoesNotExist",
            "The specified role definition with ID '11111111-2222-3333-4444-555555555555' does not exist.".to_string(),
        ),
        (
            good,
            json!({"properties": {"roleDefinitionId": role_id(READER), "principalId": "0f0f0f0f-aaaa-bbbb-cccc-000000000000"}}),
            StatusCode::BAD_REQUEST,
            "PrincipalNotFound",
            format!("Principal 0f0f0f0faaaabbbbcccc000000000000 does not exist in the directory {TENANT_ID}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"),
        ),
        (
            good,
            json!({"properties": {"roleDefinitionId": role_id(READER), "principalId": NONADMIN_OBJECT_ID, "principalType": "User"}}),
            StatusCode::BAD_REQUEST,
            "UnmatchedPrincipalType",
            "The PrincipalId '1b1b1b1b111122223333555555555555' has type 'ServicePrincipal', which is different from specified PrinciaplType 'User'.".to_string(),
        ),
    ];
    for (name, body, status, code, message) in cases {
        let answer = put(name, body).await;
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(
            answer.body,
            json!({"error": {"code": code, "message": message}}),
            "{code}"
        );
    }
    let missing_properties = put(good, json!({"roleDefinitionId": role_id(READER)})).await;
    assert_eq!(missing_properties.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing_properties.body["error"]["code"],
        "InvalidRequestContent"
    );
    let bad_delete = on_assignment(&env, Method::DELETE, &scope, "x").await;
    assert_eq!(bad_delete.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_delete.body["error"]["code"], "InvalidRoleAssignmentId");
    // Nothing was written.
    let listed = env
        .arm(
            Method::GET,
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20%27{NONADMIN_OBJECT_ID}%27"),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    assert_eq!(listed.body["value"], json!([]), "{}", listed.text);
}

/// Create `outer` ⊃ `inner` groups through Graph and a user in `inner`; answers (outer id, user object id,
/// user password).
async fn nested_groups_with_a_user(env: &Env) -> (String, String, String) {
    let graph = crate::directory::graph_token(env).await;
    let bearer = format!("Bearer {graph}");
    let mut ids = Vec::new();
    for name in ["rbac-outer", "rbac-inner"] {
        let group = env
            .send(
                Method::POST,
                "/v1.0/groups",
                &[("authorization", &bearer)],
                Some(&json!({"displayName": name, "mailNickname": name, "mailEnabled": false, "securityEnabled": true})),
            )
            .await;
        assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
        ids.push(group.body["id"].as_str().unwrap().to_string());
    }
    let add = env
        .send(
            Method::POST,
            &format!("/v1.0/groups/{}/members/$ref", ids[0]),
            &[("authorization", &bearer)],
            Some(&json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", ids[1])})),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{}", add.text);
    let user = env
        .manage(
            Method::POST,
            "users",
            Some(&json!({"userPrincipalName": "nested@emulator.local", "password": "Nested-Pa55!", "groups": [ids[1]]})),
        )
        .await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    (
        ids[0].clone(),
        user.body["id"].as_str().unwrap().to_string(),
        "Nested-Pa55!".to_string(),
    )
}

#[tokio::test]
async fn role_assignment_lists_filter_by_scope_and_principal() {
    let env = start();
    env.create_group("list-rg", "westus2").await;
    let subscription = subscription_scope();
    let group = format!("{subscription}/resourceGroups/list-rg");
    let cluster = format!("{group}/providers/Microsoft.ContainerService/managedClusters/c1");
    let namespace = format!("{cluster}/namespaces/dev");
    let (outer, user, _) = nested_groups_with_a_user(&env).await;
    let at_group = "6a000000-0000-4000-8000-000000000001";
    let at_cluster = "6a000000-0000-4000-8000-000000000002";
    let at_namespace = "6a000000-0000-4000-8000-000000000003";
    let to_outer = "6a000000-0000-4000-8000-000000000004";
    for (scope, name, principal, role) in [
        (&group, at_group, DEV_USER_OBJECT_ID, READER),
        (&cluster, at_cluster, NONADMIN_OBJECT_ID, CLUSTER_USER),
        (
            &namespace,
            at_namespace,
            DEV_USER_OBJECT_ID,
            "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
        ),
        (&group, to_outer, outer.as_str(), READER),
    ] {
        let created = assign(&env, scope, name, principal, role).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let seeded: Vec<String> = (1..=4)
        .map(|n| format!("5eed0001-0000-4000-8000-00000000000{n}"))
        .collect();
    let list = |scope: &str, filter: &str| {
        let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments{filter}");
        let env = &env;
        async move {
            let answer = env.arm(Method::GET, &path, ASSIGNMENTS_API, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            names(&answer)
        }
    };
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    let mut everything = seeded.clone();
    everything.extend([at_group, at_cluster, at_namespace, to_outer].map(String::from));
    // The subscription list holds everything in the subscription.
    assert_eq!(list(&subscription, "").await, sorted(everything.clone()));
    // atScope() (as the SDK encodes it): at and above only.
    assert_eq!(
        list(&group, "?$filter=atScope%28%29").await,
        sorted([seeded.clone(), vec![at_group.into(), to_outer.into()]].concat())
    );
    // No filter at a resource group: above, at and below.
    assert_eq!(list(&group, "").await, sorted(everything.clone()));
    assert_eq!(
        list(&cluster, "?$filter=atScope()").await,
        sorted(
            [
                seeded.clone(),
                vec![at_group.into(), at_cluster.into(), to_outer.into()]
            ]
            .concat()
        )
    );
    // principalId eq: that principal's own; assignedTo: with its groups, transitively.
    assert_eq!(
        list(
            &subscription,
            &format!("?$filter=principalId%20eq%20%27{DEV_USER_OBJECT_ID}%27")
        )
        .await,
        sorted(vec![at_group.into(), at_namespace.into()])
    );
    assert_eq!(
        list(&subscription, &format!("?$filter=assignedTo('{user}')")).await,
        vec![to_outer.to_string()]
    );
    assert_eq!(
        list(&subscription, &format!("?$filter=principalId eq '{user}'")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            &cluster,
            &format!("?$filter=atScope()+and+assignedTo('{ADMIN_OBJECT_ID}')")
        )
        .await,
        vec![seeded[0].clone()]
    );
    // Lists page with the filter kept in nextLink.
    let page = env
        .manage(Method::PUT, "page-size", Some(&json!({"page_size": 2})))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let first = env
        .arm(
            Method::GET,
            &format!(
                "{subscription}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()"
            ),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    let next = first.body["nextLink"].as_str().unwrap();
    assert!(
        next.contains("%24filter=atScope%28%29") || next.contains("$filter=atScope%28%29"),
        "{next}"
    );
    let rest = next.strip_prefix(&env.base()).unwrap();
    let second = env
        .send(
            Method::GET,
            rest,
            &[("authorization", &format!("Bearer {}", env.token().await))],
            None,
        )
        .await;
    assert_eq!(
        names(&first).len() + names(&second).len(),
        seeded.len(),
        "{}",
        second.text
    );
    let bad = env
        .arm(
            Method::GET,
            &format!("{subscription}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope() and principalId eq '{user}'"),
            ASSIGNMENTS_API,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn permissions_answer_the_callers_effective_permissions_at_a_scope() {
    let env = start();
    let cluster = format!(
        "{}/resourceGroups/p-rg/providers/Microsoft.ContainerService/managedClusters/c1",
        subscription_scope()
    );
    let path = format!("{cluster}/providers/Microsoft.Authorization/permissions");
    let owner = env.arm(Method::GET, &path, ASSIGNMENTS_API, None).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    assert_eq!(
        owner.body,
        json!({"value": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]})
    );
    let token = nonadmin_token(&env).await;
    let none = env
        .arm_as(&token, Method::GET, &path, ASSIGNMENTS_API, None)
        .await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.text);
    assert_eq!(none.body, json!({"value": []}));
    let created = assign(
        &env,
        &cluster,
        "7a000000-0000-4000-8000-000000000001",
        NONADMIN_OBJECT_ID,
        CLUSTER_USER,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let user = env
        .arm_as(&token, Method::GET, &path, ASSIGNMENTS_API, None)
        .await;
    assert_eq!(
        user.body["value"][0]["actions"],
        json!([
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read"
        ])
    );
}
