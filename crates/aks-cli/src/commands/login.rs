//! `aksctl login` (az login): sign a person or a service principal in, into az's own files, list the
//! subscriptions the login reaches and merge them into `azureProfile.json` as az does (Azure/azure-cli:
//! `command_modules/profile/custom.py` `login`, `core/_profile.py` `Profile.login`, `SubscriptionFinder`).
//! See docs/login.md.

use std::io::BufRead;
use std::sync::Arc;

use aks_arm::{ArmClient, Cloud};
use aks_identity::azure_cli::profile::{
    ProfileUser, SubscriptionRecord, TENANT_LEVEL_ACCOUNT_NAME, UserKind,
    merge_login_subscriptions_in, set_default_subscription_in,
};
use aks_identity::azure_cli::service_principal::{
    ServicePrincipalCredential, ServicePrincipalEntry, save_entry,
};
use aks_identity::azure_cli::storage::service_principal_storage;
use aks_identity::azure_cli::{AzureConfigDir, Profile, Secret};
use aks_identity::credential::{
    CredentialSpec, ManagedIdentityId, TokenSource, credential, service_principal_source,
};
use aks_identity::entra::RequestError;
use aks_identity::hints::{self, Flow, Refusal};
use aks_identity::sign_in::tenant_token::TenantTokenSource;
use aks_identity::sign_in::{SignInError, SignInFlow, UserSignIn, sign_in_user};
use reqwest::Method;
use serde_json::{Map, Value};

use super::account::{list_view, shared_error};
use super::subscription_picker;
use crate::args::LoginArgs;
use crate::context::{Context, arm_client, user_agent};
use crate::error::CliError;
use crate::output::TableLayout;

/// Tokens in a tenant.
type TenantSource = Box<dyn Fn(&str) -> Result<Arc<dyn TokenSource>, CliError>>;

/// Tenants as `GET /tenants` lists them (`tenantId`, `defaultDomain`, `displayName`); `None`: ask ARM.
type Tenants = Option<Vec<Map<String, Value>>>;

/// Who the subscriptions are listed for.
struct Signer {
    user: ProfileUser,
    /// Tokens per tenant.
    source: TenantSource,
    /// A service principal's entry, saved once its credential has worked (as az does).
    entry: Option<ServicePrincipalEntry>,
}

/// `aksctl login`.
pub async fn login(args: LoginArgs, context: &Context) -> Result<(), CliError> {
    let cloud = context.config()?.active();
    let directory = context.azure_config_dir()?;
    warn_if_az_cloud_differs(&directory, &cloud, context);
    let http = aks_arm::http_client(&user_agent())?;
    let tenant = match &args.tenant {
        Some(tenant) => Some(resolve_tenant(&http, &cloud, tenant).await?),
        None => None,
    };
    // As az: a person signing in on a terminal picks the default from a table instead of reading JSON.
    let picker = !args.identity
        && !args.service_principal
        && context.printer.is_interactive()
        && directory.login_experience_v2().map_err(file_error)?;
    let (signer, tenants) = if args.identity {
        managed_identity(&args, &cloud, &http).await?
    } else if args.service_principal {
        service_principal(&args, &cloud, &http, tenant.as_deref())?
    } else {
        user(&args, &directory, &cloud, &http, tenant.as_deref(), context).await?
    };
    if picker {
        let retrieving = if tenant.is_some() {
            subscription_picker::RETRIEVING_SUBSCRIPTIONS
        } else {
            subscription_picker::RETRIEVING_TENANTS
        };
        context.printer.stdout(&format!("\n{retrieving}\n"))?;
    }
    // Tenants listed by ARM (a person without --tenant): the empty ones are named, as az names them.
    let listed = tenants.is_none();
    let tenants = match tenants {
        Some(tenants) => tenants,
        None => list_tenants(&cloud, &http, &signer, context).await?,
    };
    let found = (&cloud, &http, &signer);
    let records = find_subscriptions(&args, found, &tenants, listed, context).await?;
    if let Some(entry) = &signer.entry {
        save_entry(
            &service_principal_storage(&directory).map_err(file_error)?,
            entry,
        )
        .map_err(file_error)?;
    }
    merge_login_subscriptions_in(&directory, &cloud.name, &records, None).map_err(shared_error)?;
    let merged = login_entries(&directory, &records)?;
    if picker {
        return pick_default(&directory, &cloud, merged, context);
    }
    let views = merged.iter().map(list_view).collect();
    context
        .printer
        .data(&Value::Array(views), TableLayout::Subscription)
}

/// az's subscription picker: the table, the question until an answer is valid (Enter, or end of input, keeps
/// the default), the choice made the default as `account set` makes it, then the announcement; no JSON.
fn pick_default(
    directory: &AzureConfigDir,
    cloud: &Cloud,
    entries: Vec<SubscriptionRecord>,
    context: &Context,
) -> Result<(), CliError> {
    use subscription_picker::{Answer, Picker};
    let printer = &context.printer;
    let picker = Picker::new(entries);
    printer.stdout(&picker.introduction(printer.colors()))?;
    let selected = loop {
        let answer = printer.prompt(subscription_picker::PROMPT);
        match picker.answer(answer.as_deref().unwrap_or_default()) {
            Answer::Keep => break picker.default_row(),
            Answer::Row(index) => break picker.row(index),
            Answer::Invalid => printer.warning(subscription_picker::INVALID),
        }
    };
    printer.stdout(&Picker::echo(selected))?;
    set_default_subscription_in(directory, &cloud.name, &selected.id).map_err(shared_error)?;
    printer.stdout(subscription_picker::ANNOUNCEMENT)?;
    printer.warning(subscription_picker::OUTPUT_WARNING);
    Ok(())
}

/// az's active cloud (`config` `[cloud] name`) is not aksctl's: az's commands will not see this login.
fn warn_if_az_cloud_differs(directory: &AzureConfigDir, cloud: &Cloud, context: &Context) {
    if let Ok(az_cloud) = directory.active_cloud()
        && az_cloud != cloud.name
    {
        context.printer.warning(&format!(
            "aksctl's active cloud is '{}' but az's is '{az_cloud}': the login is stored for '{}'; run `az cloud set --name {}` for az to use it.",
            cloud.name, cloud.name, cloud.name
        ));
    }
}

/// A tenant given as a domain becomes its id, from the `issuer` of its OpenID configuration (az's
/// `_validators.py` `validate_tenant`); a tenant id is kept as is.
async fn resolve_tenant(
    http: &reqwest::Client,
    cloud: &Cloud,
    tenant: &str,
) -> Result<String, CliError> {
    if aks_model::validation::is_guid(tenant) {
        return Ok(tenant.to_owned());
    }
    let url = format!(
        "{}/{tenant}/v2.0/.well-known/openid-configuration",
        cloud.authority()
    );
    let failed = |detail: String| {
        CliError::message(format!("Failed to resolve tenant '{tenant}': {detail}"))
    };
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|error| failed(aks_identity::error_chain(&error)))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|error| failed(aks_identity::error_chain(&error)))?;
    if status != 200 {
        return Err(failed(
            aks_identity::entra::EntraError::from_body(&url, status, &body).to_string(),
        ));
    }
    let issuer = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|document| document["issuer"].as_str().map(str::to_owned))
        .unwrap_or_default();
    issuer
        .trim_end_matches('/')
        .trim_end_matches("/v2.0")
        .rsplit('/')
        .next()
        .filter(|id| aks_model::validation::is_guid(id))
        .map(str::to_owned)
        .ok_or_else(|| failed(format!("no tenant id in the issuer {issuer:?} of {url}")))
}

/// A person: browser, device code or paste-back, against `organizations` or the tenant.
async fn user(
    args: &LoginArgs,
    directory: &AzureConfigDir,
    cloud: &Cloud,
    http: &reqwest::Client,
    tenant: Option<&str>,
    context: &Context,
) -> Result<(Signer, Tenants), CliError> {
    let scopes = vec![args.scope.clone().unwrap_or_else(|| cloud.arm_scope())];
    let authority = cloud.authority();
    let printer = &context.printer;
    let prompt = |message: &str| printer.warning(message);
    let request = UserSignIn {
        http,
        authority_host: &authority,
        tenant: tenant.unwrap_or("organizations"),
        scopes: &scopes,
        login_hint: args.username.as_deref(),
        prompt: &prompt,
    };
    let read_redirect = || {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    };
    // As az (`can_launch_browser`): with no browser to open, the device-code flow.
    let no_browser = browser_program().is_none();
    if no_browser && !args.use_device_code && !args.use_paste_back {
        tracing::info!("no browser can be opened; using the device code flow");
    }
    let device_code = args.use_device_code || (no_browser && !args.use_paste_back);
    let hint_flow = if device_code {
        Flow::LoginDeviceCode
    } else {
        Flow::LoginInteractive
    };
    let flow = if device_code {
        SignInFlow::DeviceCode
    } else if args.use_paste_back {
        SignInFlow::PasteBack {
            read_redirect: &read_redirect,
        }
    } else {
        SignInFlow::Browser {
            open_browser: &open_browser,
        }
    };
    let signed_in = sign_in_user(directory, &request, flow)
        .await
        .map_err(|error| sign_in_error(error, hint_flow))?;
    let source_directory = directory.clone();
    let source_http = http.clone();
    let home = signed_in.home_account_id.clone();
    let signer = Signer {
        user: ProfileUser {
            name: signed_in.username,
            kind: UserKind::User,
            extra: Map::new(),
        },
        source: Box::new(move |tenant| {
            let source = TenantTokenSource::new(
                source_directory.clone(),
                source_http.clone(),
                &authority,
                tenant,
                &home,
            )
            .map_err(|error| CliError::message(error.to_string()))?;
            Ok(Arc::new(source) as Arc<dyn TokenSource>)
        }),
        entry: None,
    };
    Ok((signer, tenant.map(|id| vec![tenant_entry(id)])))
}

/// The program that opens a browser: `$BROWSER`, `open` on macOS, `xdg-open` in a desktop session; `None` over
/// SSH, in containers and CI (no `DISPLAY`/`WAYLAND_DISPLAY`).
fn browser_program() -> Option<String> {
    crate::env_vars::get("BROWSER").or_else(|| {
        if cfg!(target_os = "macos") {
            Some("open".to_owned())
        } else {
            crate::env_vars::get("DISPLAY")
                .or_else(|| crate::env_vars::get("WAYLAND_DISPLAY"))
                .map(|_| "xdg-open".to_owned())
        }
    })
}

/// Open the authorize URL as Python's `webbrowser` would: `$BROWSER`, else the desktop's opener. az's message
/// (shown before) says what to do when none opens.
fn open_browser(url: &str) {
    let Some(program) = browser_program() else {
        tracing::debug!("no browser to open");
        return;
    };
    if let Err(error) = std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        tracing::debug!(%program, %error, "could not open a browser");
    }
}

/// A failed sign-in: Entra's line, with the next step that works when it is a refusal a person can act on
/// (docs/conditional-access.md).
fn sign_in_error(error: SignInError, flow: Flow) -> CliError {
    let refusal = match &error {
        SignInError::Request(RequestError::Refused(refused)) => Refusal::from_codes(&refused.codes),
        _ => None,
    };
    match refusal {
        Some(refusal) => CliError::message(format!(
            "{error}\nhint: {}",
            hints::next_step(refusal, flow)
        )),
        None => CliError::message(error.to_string()),
    }
}

/// A tenant as `GET /tenants` lists it, with only its id.
fn tenant_entry(id: &str) -> Map<String, Value> {
    let mut entry = Map::new();
    entry.insert("tenantId".into(), id.into());
    entry
}

/// A service principal: its credential from `-p` (a secret, or a PEM file's path as az still accepts),
/// `--certificate` or `--federated-token`, stored in `service_principal_entries.json` as az stores it once it
/// has signed in.
fn service_principal(
    args: &LoginArgs,
    cloud: &Cloud,
    http: &reqwest::Client,
    tenant: Option<&str>,
) -> Result<(Signer, Tenants), CliError> {
    let usage = || {
        CliError::Usage(
            "usage error: --service-principal --username NAME --password SECRET --tenant TENANT"
                .into(),
        )
    };
    let client_id = args.username.clone().ok_or_else(usage)?;
    let tenant = tenant.ok_or_else(usage)?.to_owned();
    let credential = match (&args.password, &args.certificate, &args.federated_token) {
        (Some(password), None, None) => match pem_path(password) {
            Some(path) => ServicePrincipalCredential::Certificate {
                path,
                use_cert_sn_issuer: args.use_cert_sn_issuer,
            },
            None => ServicePrincipalCredential::Secret(Secret::new(password.clone())),
        },
        (None, Some(path), None) => ServicePrincipalCredential::Certificate {
            path: std::path::absolute(path).map_err(|source| CliError::Io {
                action: "reading",
                path: path.display().to_string(),
                source,
            })?,
            use_cert_sn_issuer: args.use_cert_sn_issuer,
        },
        (None, None, Some(token)) => {
            ServicePrincipalCredential::Assertion(Secret::new(token.clone()))
        }
        _ => return Err(usage()),
    };
    let entry = ServicePrincipalEntry {
        client_id: client_id.clone(),
        tenant: tenant.clone(),
        credential,
    };
    let source_entry = entry.clone();
    let authority = cloud.authority();
    let http = http.clone();
    let signer = Signer {
        user: ProfileUser {
            name: client_id.clone(),
            kind: UserKind::ServicePrincipal,
            extra: Map::new(),
        },
        source: Box::new(move |tenant| {
            Ok(service_principal_source(
                &source_entry,
                &authority,
                tenant,
                &http,
                format!("service principal {}", source_entry.client_id),
                format!("login-sp|{authority}|{tenant}|{}", source_entry.client_id),
            )?)
        }),
        entry: Some(entry),
    };
    Ok((signer, Some(vec![tenant_entry(&tenant)])))
}

/// `--identity [--client-id | --object-id | --resource-id]`: the managed identity's token (App Service's
/// `IDENTITY_ENDPOINT` when set, else the VM endpoint), its tenant from the token's `tid`, and az's profile user
/// (`systemAssignedIdentity`/`userAssignedIdentity` with `assignedIdentityInfo`).
async fn managed_identity(
    args: &LoginArgs,
    cloud: &Cloud,
    http: &reqwest::Client,
) -> Result<(Signer, Tenants), CliError> {
    let (id, info, name) = match (&args.client_id, &args.object_id, &args.resource_id) {
        (None, None, None) => (None, "MSI".to_owned(), "systemAssignedIdentity"),
        (Some(id), None, None) => (
            Some(ManagedIdentityId::ClientId(id.clone())),
            format!("MSIClient-{id}"),
            "userAssignedIdentity",
        ),
        (None, None, Some(id)) => (
            Some(ManagedIdentityId::ResourceId(id.clone())),
            format!("MSIResource-{id}"),
            "userAssignedIdentity",
        ),
        (None, Some(id), None) => (
            Some(ManagedIdentityId::ObjectId(id.clone())),
            format!("MSIObject-{id}"),
            "userAssignedIdentity",
        ),
        _ => {
            return Err(CliError::Usage(
                "usage error: --client-id/--object-id/--resource-id are mutually exclusive".into(),
            ));
        }
    };
    let source = credential(
        CredentialSpec::ManagedIdentity { id },
        &cloud.authority(),
        http,
    )?;
    let token = source.token(&cloud.arm_scope()).await?;
    let tenant_id = aks_identity::azure_cli::claims::id_token_claims(token.token.expose())
        .get("tid")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CliError::message("the managed identity's token names no tenant (tid)"))?;
    let mut extra = Map::new();
    extra.insert("assignedIdentityInfo".into(), info.into());
    let signer = Signer {
        user: ProfileUser {
            name: name.to_owned(),
            kind: UserKind::ServicePrincipal,
            extra,
        },
        source: Box::new(move |_| Ok(source.clone())),
        entry: None,
    };
    Ok((signer, Some(vec![tenant_entry(&tenant_id)])))
}

fn file_error(error: aks_identity::azure_cli::FileError) -> CliError {
    CliError::message(error.to_string())
}

/// `-p` naming a PEM file (az: "a path to a PEM file with the certificate and private key"): its absolute path.
fn pem_path(password: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(password);
    let text = std::fs::read_to_string(path).ok()?;
    text.contains("-----BEGIN ")
        .then(|| std::path::absolute(path).ok())
        .flatten()
}

/// `GET /tenants` with the sign-in's own token (realm `organizations`).
async fn list_tenants(
    cloud: &Cloud,
    http: &reqwest::Client,
    signer: &Signer,
    context: &Context,
) -> Result<Vec<Map<String, Value>>, CliError> {
    let _ = context;
    let arm = arm_client(
        cloud.clone(),
        http.clone(),
        (signer.source)("organizations")?,
        "login",
    );
    let url = arm.url(&format!(
        "/tenants?api-version={}",
        aks_model::SUBSCRIPTIONS_API_VERSION
    ));
    let answer = arm.send(Method::GET, url, None).await?;
    Ok(answer.body["value"]
        .as_array()
        .map(|tenants| {
            tenants
                .iter()
                .filter_map(|tenant| tenant.as_object().cloned())
                .collect()
        })
        .unwrap_or_default())
}

/// For each tenant: a token there and `GET /subscriptions`; a tenant that fails is a warning, as in az.
async fn find_subscriptions(
    args: &LoginArgs,
    (cloud, http, signer): (&Cloud, &reqwest::Client, &Signer),
    tenants: &[Map<String, Value>],
    warn_empty: bool,
    context: &Context,
) -> Result<Vec<SubscriptionRecord>, CliError> {
    let mut records: Vec<SubscriptionRecord> = Vec::new();
    let mut empty = Vec::new();
    for tenant in tenants {
        let tenant_id = tenant
            .get("tenantId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let listed = match (signer.source)(tenant_id) {
            Ok(source) => {
                let arm: ArmClient = arm_client(cloud.clone(), http.clone(), source, "login");
                arm.list_subscriptions().await.map_err(CliError::from)
            }
            Err(error) => Err(error),
        };
        let subscriptions = match listed {
            Ok(subscriptions) => subscriptions,
            Err(error) if tenants.len() > 1 => {
                context.printer.warning(&format!(
                    "Authentication failed against tenant {tenant_id}: {error}\nIf you need to access subscriptions in the following tenants, please use `aksctl login --tenant TENANT_ID`."
                ));
                continue;
            }
            Err(error) => return Err(error),
        };
        if subscriptions.is_empty() {
            empty.push(tenant);
            if args.allow_no_subscriptions {
                records.push(tenant_level_record(cloud, signer, tenant_id));
            }
        }
        for subscription in subscriptions {
            if records
                .iter()
                .any(|record| record.id == subscription.subscription_id)
            {
                continue;
            }
            let mut extra = Map::new();
            extra.insert("homeTenantId".into(), subscription.tenant_id.clone().into());
            for key in ["tenantDefaultDomain", "tenantDisplayName"] {
                let source = if key == "tenantDefaultDomain" {
                    "defaultDomain"
                } else {
                    "displayName"
                };
                if let Some(value) = tenant.get(source) {
                    extra.insert(key.into(), value.clone());
                }
            }
            extra.insert(
                "managedByTenants".into(),
                subscription
                    .extra
                    .get("managedByTenants")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new())),
            );
            records.push(SubscriptionRecord {
                id: subscription.subscription_id,
                name: subscription.display_name,
                state: subscription.state,
                user: signer.user.clone(),
                is_default: false,
                tenant_id: tenant_id.to_owned(),
                environment_name: cloud.name.clone(),
                extra,
            });
        }
    }
    if warn_empty && !empty.is_empty() {
        warn_empty_tenants(&empty, context);
    }
    if records.is_empty() {
        return Err(CliError::message(format!(
            "No subscriptions found for {}.",
            signer.user.name
        )));
    }
    Ok(records)
}

/// az's warning after listing the subscriptions of every tenant (even with `--allow-no-subscriptions`): the
/// tenants without one, each as `<id> '<display name>'` (Azure/azure-cli: `_profile.py`
/// `SubscriptionFinder.find_using_common_tenant`, `tenant_id_name`).
fn warn_empty_tenants(tenants: &[&Map<String, Value>], context: &Context) {
    context.printer.warning(
        "The following tenants don't contain accessible subscriptions. Use `aksctl login --allow-no-subscriptions` to have tenant level access.",
    );
    for tenant in tenants {
        let id = tenant
            .get("tenantId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match tenant.get("displayName").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => context.printer.warning(&format!("{id} '{name}'")),
            _ => context.printer.warning(id),
        }
    }
}

/// `--allow-no-subscriptions`: the tenant itself as an account.
fn tenant_level_record(cloud: &Cloud, signer: &Signer, tenant_id: &str) -> SubscriptionRecord {
    SubscriptionRecord {
        id: tenant_id.to_owned(),
        name: TENANT_LEVEL_ACCOUNT_NAME.to_owned(),
        state: "Enabled".to_owned(),
        user: signer.user.clone(),
        is_default: false,
        tenant_id: tenant_id.to_owned(),
        environment_name: cloud.name.clone(),
        extra: Map::new(),
    }
}

/// The login's entries as merged into the profile (with `isDefault`), in the login's order.
fn login_entries(
    directory: &AzureConfigDir,
    records: &[SubscriptionRecord],
) -> Result<Vec<SubscriptionRecord>, CliError> {
    let merged = Profile::load(directory)
        .and_then(|profile| profile.subscriptions())
        .map_err(file_error)?;
    Ok(records
        .iter()
        .filter_map(|record| merged.iter().find(|entry| entry.id == record.id))
        .cloned()
        .collect())
}
