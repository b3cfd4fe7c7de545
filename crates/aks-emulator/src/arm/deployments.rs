//! `Microsoft.Resources/deployments` at resource-group scope: ARM template deployments (Incremental mode) of the
//! resources the emulator serves, i.e. `Microsoft.ContainerService/managedClusters`.
//!
//! A deployment PUT validates the template at once (`400 InvalidTemplate`, as ARM does for template errors), then
//! PUTs each cluster through the very handler of `PUT …/managedClusters/{name}` (same server fields, same AKS
//! rules, same operations and failure injection), and answers 201 with `provisioningState: Accepted` and an
//! `Azure-AsyncOperation` URL `…/deployments/{name}/operationStatuses/{id}`. Each read of that URL or of the
//! deployment advances the clusters' operations; the deployment is `Running` until they end, then `Succeeded`
//! (with `outputs` and `outputResources`) or `Failed` with ARM's `DeploymentFailed` error whose `details` hold each
//! resource's own error (a refused PUT's answer, or a failed operation's error).
//!
//! Template expressions: only `[parameters('name')]` and `[resourceGroup()]` with its properties (e.g.
//! `[resourceGroup().location]`), plus string and integer literals inside them. Anything else (another function,
//! `variables()`, `copy`, `condition`, nested resources, linked templates, `Complete` mode, …) fails loudly with
//! `InvalidTemplate` naming what is not supported. Deployments are kept in memory, not in the state file, under their
//! resource group's store key, so each belongs to the subscription of its path (its ids, its clusters and its
//! listing are that subscription's) and goes when that group is deleted.

use std::future::Future as _;
use std::task::{Context, Poll, Waker};

use aks_model::{ArmErrorBody, ArmErrorDetail, MANAGED_CLUSTER_TYPE};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{managed_clusters, operations, page, resource_groups};
use crate::http::{Ctx, arm_error, json, set};
use crate::state::{
    Outcome, ResourceGroupRecord, SharedState, Store, Subscription, now_ms, random_guid,
    rfc3339_now,
};

/// The deployment resource type, as ARM writes it.
const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";
/// The api-version put on polling URLs when the request named none (it always does: the router requires one).
const DEFAULT_API_VERSION: &str = "2024-11-01";
/// ARM's message of a deployment whose resources failed.
const DEPLOYMENT_FAILED: &str = "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.";
/// The expressions the emulator evaluates, for `InvalidTemplate` messages.
const SUPPORTED_EXPRESSIONS: &str = "[parameters('name')] and [resourceGroup()] with its properties, e.g. [resourceGroup().location]";
/// Resource keys passed on to the resource provider (besides `type`, `apiVersion`, `name`, which address it).
const RESOURCE_BODY_KEYS: &[&str] = &[
    "location",
    "tags",
    "sku",
    "identity",
    "properties",
    "kind",
    "zones",
    "extendedLocation",
];
/// Resource keys accepted and ignored (resources are deployed in template order).
const RESOURCE_IGNORED_KEYS: &[&str] = &["dependsOn", "comments", "metadata"];

/// The resource group's store key ([`Subscription::group_key`]: lower case, behind its subscription when that is not
/// the emulator's own) and the lower-case deployment name.
pub(crate) type DeploymentKey = (String, String);

/// Template deployments by (group key, lower-case name) (in memory only, not in the state file).
pub(crate) type Deployments = std::collections::BTreeMap<DeploymentKey, DeploymentRecord>;

/// Where a deployment stands (`properties.provisioningState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeploymentState {
    Accepted,
    Running,
    Succeeded,
    Failed,
}

impl DeploymentState {
    fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Accepted => "Accepted",
            DeploymentState::Running => "Running",
            DeploymentState::Succeeded => "Succeeded",
            DeploymentState::Failed => "Failed",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, DeploymentState::Succeeded | DeploymentState::Failed)
    }
}

/// One resource of a deployment: the cluster PUT's operation, or the error its PUT answered.
#[derive(Clone, Debug)]
struct DeployedResource {
    id: String,
    operation: Option<String>,
    error: Option<ArmErrorDetail>,
}

/// A deployment, as stored.
#[derive(Clone, Debug)]
pub(crate) struct DeploymentRecord {
    subscription: Subscription,
    resource_group: String,
    name: String,
    operation_id: String,
    state: DeploymentState,
    mode: String,
    template_hash: String,
    parameters: Map<String, Value>,
    outputs: Map<String, Value>,
    providers: Value,
    correlation_id: String,
    started_ms: u64,
    timestamp: String,
    duration_ms: u64,
    resources: Vec<DeployedResource>,
    error: Option<ArmErrorDetail>,
}

/// The deployments of the resource group with store key `group_key` ([`Subscription::group_key`]) go with it.
pub(crate) fn forget_resource_group(store: &mut Store, group_key: &str) {
    store
        .services
        .get_mut::<Deployments>()
        .retain(|(key, _), _| key != group_key);
}

fn key(subscription: &Subscription, group: &str, name: &str) -> DeploymentKey {
    (subscription.group_key(group), name.to_lowercase())
}

fn deployment_id(subscription: &Subscription, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{group}/providers/{DEPLOYMENT_TYPE}/{name}",
        subscription.id()
    )
}

/// The id of managed cluster `name` in `group` of `subscription`.
fn cluster_id(subscription: &Subscription, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{group}/providers/{MANAGED_CLUSTER_TYPE}/{name}",
        subscription.id()
    )
}

/// An `InvalidTemplate` error with ARM's prefix.
fn invalid_template(message: impl std::fmt::Display) -> ArmErrorDetail {
    ArmErrorDetail {
        code: "InvalidTemplate".into(),
        message: format!("Deployment template validation failed: '{message}'."),
        ..ArmErrorDetail::default()
    }
}

fn bad_request(error: ArmErrorDetail) -> Response {
    arm_error(StatusCode::BAD_REQUEST, ArmErrorBody { error })
}

fn deployment_not_found(subscription: &Subscription, group: &str, name: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        ArmErrorBody::new(
            "DeploymentNotFound",
            format!("Deployment '{name}' could not be found."),
        )
        .with_target(deployment_id(subscription, group, name)),
    )
}

/// ARM's short ISO 8601 duration, e.g. `PT1.234S`.
fn iso_duration(ms: u64) -> String {
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

/// A stable hash of the template (ARM's `templateHash` is a decimal number too).
fn template_hash(template: &Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in template.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.to_string()
}

// ----- Template expressions -----

/// A parsed template language expression.
#[derive(Debug)]
enum Expression {
    String(String),
    Integer(i64),
    Call(String, Vec<Expression>),
    Property(Box<Expression>, String),
    Index(Box<Expression>, Box<Expression>),
}

/// A recursive-descent parser of ARM's template expression language (the part the emulator evaluates).
struct Parser<'a> {
    text: &'a [u8],
    position: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Expression, String> {
        let mut parser = Parser {
            text: text.as_bytes(),
            position: 0,
        };
        let expression = parser.expression()?;
        parser.skip_spaces();
        if parser.position != parser.text.len() {
            return Err(format!(
                "unexpected '{}' at position {}",
                String::from_utf8_lossy(&parser.text[parser.position..]),
                parser.position
            ));
        }
        Ok(expression)
    }

    fn skip_spaces(&mut self) {
        while self
            .text
            .get(self.position)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.position += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.text.get(self.position).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at position {}",
                byte as char, self.position
            ))
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let start = self.position;
        while self
            .text
            .get(self.position)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.position += 1;
        }
        if start == self.position {
            return Err(format!("expected a name at position {start}"));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.position]).into_owned())
    }

    fn expression(&mut self) -> Result<Expression, String> {
        let mut expression = self.primary()?;
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.position += 1;
                    let property = self.identifier()?;
                    expression = Expression::Property(Box::new(expression), property);
                }
                Some(b'[') => {
                    self.position += 1;
                    let index = self.expression()?;
                    self.expect(b']')?;
                    expression = Expression::Index(Box::new(expression), Box::new(index));
                }
                _ => return Ok(expression),
            }
        }
    }

    fn primary(&mut self) -> Result<Expression, String> {
        match self.peek() {
            Some(b'\'') => {
                self.position += 1;
                let mut bytes = Vec::new();
                loop {
                    match self.text.get(self.position) {
                        None => return Err("unterminated string literal".into()),
                        Some(b'\'') if self.text.get(self.position + 1) == Some(&b'\'') => {
                            bytes.push(b'\'');
                            self.position += 2;
                        }
                        Some(b'\'') => {
                            self.position += 1;
                            break;
                        }
                        Some(byte) => {
                            bytes.push(*byte);
                            self.position += 1;
                        }
                    }
                }
                Ok(Expression::String(
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            }
            Some(byte) if byte == b'-' || byte.is_ascii_digit() => {
                let start = self.position;
                self.position += 1;
                while self.text.get(self.position).is_some_and(u8::is_ascii_digit) {
                    self.position += 1;
                }
                let digits = String::from_utf8_lossy(&self.text[start..self.position]);
                digits
                    .parse()
                    .map(Expression::Integer)
                    .map_err(|_| format!("invalid number '{digits}'"))
            }
            _ => {
                let name = self.identifier()?;
                self.expect(b'(')?;
                let mut arguments = Vec::new();
                if self.peek() == Some(b')') {
                    self.position += 1;
                } else {
                    loop {
                        arguments.push(self.expression()?);
                        match self.peek() {
                            Some(b',') => self.position += 1,
                            Some(b')') => {
                                self.position += 1;
                                break;
                            }
                            _ => {
                                return Err(format!(
                                    "expected ',' or ')' at position {}",
                                    self.position
                                ));
                            }
                        }
                    }
                }
                Ok(Expression::Call(name, arguments))
            }
        }
    }
}

/// What expressions can see: the resolved parameters and the deployment's resource group (as ARM answers it,
/// the value of `resourceGroup()`).
struct Scope<'a> {
    parameters: &'a Map<String, Value>,
    resource_group: &'a Value,
}

/// Why an expression could not be evaluated: not supported by the emulator, or wrong.
enum EvaluationError {
    Unsupported(String),
    Invalid(String),
}

impl Scope<'_> {
    fn evaluate(&self, expression: &Expression) -> Result<Value, EvaluationError> {
        match expression {
            Expression::String(text) => Ok(Value::String(text.clone())),
            Expression::Integer(number) => Ok(json!(number)),
            Expression::Call(name, arguments) => self.call(name, arguments),
            Expression::Property(target, property) => {
                let value = self.evaluate(target)?;
                let Value::Object(map) = &value else {
                    return Err(EvaluationError::Invalid(format!(
                        "The language expression property '{property}' can't be evaluated, the property belongs to a value that is not an object."
                    )));
                };
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(property))
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| {
                        let available: Vec<&str> = map.keys().map(String::as_str).collect();
                        EvaluationError::Invalid(format!(
                            "The language expression property '{property}' doesn't exist, available properties are '{}'.",
                            available.join(", ")
                        ))
                    })
            }
            Expression::Index(target, index) => {
                let value = self.evaluate(target)?;
                let index = self.evaluate(index)?;
                let found = match (&value, &index) {
                    (Value::Array(items), Value::Number(number)) => number
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .and_then(|n| items.get(n)),
                    (Value::Object(map), Value::String(key)) => map
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(key))
                        .map(|(_, value)| value),
                    _ => None,
                };
                found.cloned().ok_or_else(|| {
                    EvaluationError::Invalid(format!(
                        "The language expression index '{index}' is not valid for the value '{value}'."
                    ))
                })
            }
        }
    }

    fn call(&self, name: &str, arguments: &[Expression]) -> Result<Value, EvaluationError> {
        match name.to_ascii_lowercase().as_str() {
            "parameters" => {
                let [argument] = arguments else {
                    return Err(EvaluationError::Invalid(format!(
                        "The template language function 'parameters' must have only one parameter, found {}.",
                        arguments.len()
                    )));
                };
                let Value::String(parameter) = self.evaluate(argument)? else {
                    return Err(EvaluationError::Invalid(
                        "The template language function 'parameters' expects its parameter to be of type 'String'.".into(),
                    ));
                };
                self.parameters
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(&parameter))
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| {
                        EvaluationError::Invalid(format!(
                            "The template parameter '{parameter}' is not found."
                        ))
                    })
            }
            "resourcegroup" if arguments.is_empty() => Ok(self.resource_group.clone()),
            _ => Err(EvaluationError::Unsupported(name.to_string())),
        }
    }

    /// Evaluate every expression in a JSON value (`[[` escapes a literal `[`); `path` names it in errors.
    fn resolve(&self, value: &Value, path: &str) -> Result<Value, ArmErrorDetail> {
        match value {
            Value::String(text) => self.resolve_string(text, path),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| self.resolve(item, &format!("{path}[{index}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((key.clone(), self.resolve(item, &format!("{path}.{key}"))?)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn resolve_string(&self, text: &str, path: &str) -> Result<Value, ArmErrorDetail> {
        if let Some(rest) = text.strip_prefix("[[") {
            return Ok(Value::String(format!("[{rest}")));
        }
        let Some(inner) = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            return Ok(Value::String(text.to_string()));
        };
        let unsupported = |what: String| {
            invalid_template(format!(
                "The template expression '{text}' at '{path}' is not supported by the local cloud emulator ({what}): it evaluates only {SUPPORTED_EXPRESSIONS}"
            ))
        };
        let expression = Parser::parse(inner).map_err(|error| {
            invalid_template(format!(
                "The template language expression '{text}' at '{path}' is not valid: {error}"
            ))
        })?;
        self.evaluate(&expression).map_err(|error| match error {
            EvaluationError::Unsupported(function) => {
                unsupported(format!("function '{function}'"))
            }
            EvaluationError::Invalid(message) => invalid_template(format!(
                "Unable to evaluate the template language expression '{text}' at '{path}': {message}"
            )),
        })
    }
}

// ----- Templates -----

/// A template checked and evaluated: what the deployment will do.
struct Plan {
    parameters: Map<String, Value>,
    outputs: Map<String, Value>,
    providers: Value,
    resources: Vec<PlannedResource>,
}

/// A resource to PUT.
struct PlannedResource {
    name: String,
    body: Value,
}

/// ARM's capitalized parameter and output type names (`string` → `String`, `securestring` → `SecureString`).
fn type_name(declared: &str) -> Option<&'static str> {
    Some(match declared.to_ascii_lowercase().as_str() {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Int",
        "bool" => "Bool",
        "object" => "Object",
        "secureobject" => "SecureObject",
        "array" => "Array",
        _ => return None,
    })
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

fn has_type(value: &Value, type_name: &str) -> bool {
    match type_name {
        "String" | "SecureString" => value.is_string(),
        "Int" => value.is_i64() || value.is_u64(),
        "Bool" => value.is_boolean(),
        "Object" | "SecureObject" => value.is_object(),
        "Array" => value.is_array(),
        _ => false,
    }
}

/// The values of `properties.parameters` (`{"name": {"value": …}}`).
fn supplied_parameters(parameters: Option<&Value>) -> Result<Map<String, Value>, ArmErrorDetail> {
    let mut values = Map::new();
    let Some(parameters) = parameters.filter(|p| !p.is_null()) else {
        return Ok(values);
    };
    let Value::Object(parameters) = parameters else {
        return Err(invalid_template(
            "The deployment parameters must be an object",
        ));
    };
    for (name, parameter) in parameters {
        match parameter.get("value") {
            Some(value) => {
                values.insert(name.clone(), value.clone());
            }
            None if parameter.get("reference").is_some() => {
                return Err(invalid_template(format!(
                    "The parameter '{name}' is a Key Vault reference, which the local cloud emulator does not support"
                )));
            }
            None => {
                return Err(invalid_template(format!(
                    "The parameter '{name}' has no 'value'"
                )));
            }
        }
    }
    Ok(values)
}

/// A template's parameters, resolved.
struct Parameters {
    /// The values expressions see.
    values: Map<String, Value>,
    /// The deployment resource's `properties.parameters`: `{"name": {"type": "String", "value": …}}`.
    typed: Map<String, Value>,
}

/// Resolve the template's parameters from the supplied values and the defaults.
fn resolve_parameters(
    declared: &Map<String, Value>,
    supplied: Map<String, Value>,
    resource_group: &Value,
) -> Result<Parameters, ArmErrorDetail> {
    let unknown: Vec<&str> = supplied
        .keys()
        .filter(|name| !declared.keys().any(|d| d.eq_ignore_ascii_case(name)))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = declared.keys().map(String::as_str).collect();
        return Err(invalid_template(format!(
            "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
            unknown.join(", "),
            known.join(", ")
        )));
    }
    let mut values = Map::new();
    let mut typed = Map::new();
    for (name, definition) in declared {
        let declared_type = definition
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid_template(format!("The template parameter '{name}' has no 'type'"))
            })?;
        let type_name = type_name(declared_type).ok_or_else(|| {
            invalid_template(format!(
                "The template parameter '{name}' has an invalid type '{declared_type}'"
            ))
        })?;
        let given = supplied
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone());
        let value = match (given, definition.get("defaultValue")) {
            (Some(value), _) => value,
            (None, Some(default)) => Scope {
                parameters: &values,
                resource_group,
            }
            .resolve(default, &format!("parameters.{name}.defaultValue"))?,
            (None, None) => {
                return Err(invalid_template(format!(
                    "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
                )));
            }
        };
        if !has_type(&value, type_name) {
            return Err(invalid_template(format!(
                "Template parameter '{name}' was provided an invalid value. Expected a value of type '{type_name}', but received a value of type '{}'.",
                json_type_name(&value)
            )));
        }
        if let Some(Value::Array(allowed)) = definition.get("allowedValues")
            && !allowed.contains(&value)
        {
            return Err(invalid_template(format!(
                "The provided value for the template parameter '{name}' is not valid. The value '{value}' is not part of the allowed value(s): '{}'.",
                allowed
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        let mut entry = json!({"type": type_name});
        if !type_name.starts_with("Secure") {
            entry["value"] = value.clone();
        }
        typed.insert(name.clone(), entry);
        values.insert(name.clone(), value);
    }
    Ok(Parameters { values, typed })
}

/// One template resource, resolved: a managed cluster with its name and the body to PUT.
fn plan_resource(
    scope: &Scope<'_>,
    resource: &Value,
    index: usize,
) -> Result<PlannedResource, ArmErrorDetail> {
    let path = format!("resources[{index}]");
    let Value::Object(resource) = scope.resolve(resource, &path)? else {
        return Err(invalid_template(format!(
            "The template resource at '{path}' must be an object"
        )));
    };
    let text = |key: &str| {
        resource
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let resource_type = text("type").ok_or_else(|| {
        invalid_template(format!("The template resource at '{path}' has no 'type'"))
    })?;
    if !resource_type.eq_ignore_ascii_case(MANAGED_CLUSTER_TYPE) {
        return Err(invalid_template(format!(
            "The template resource type '{resource_type}' at '{path}' is not supported by the local cloud emulator: it deploys only '{MANAGED_CLUSTER_TYPE}'"
        )));
    }
    if text("apiVersion").is_none() {
        return Err(invalid_template(format!(
            "The template resource at '{path}' has no 'apiVersion'"
        )));
    }
    let name = text("name")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            invalid_template(format!(
                "The template resource at '{path}' has no 'name' string"
            ))
        })?;
    if name.contains('/') {
        return Err(invalid_template(format!(
            "The template resource '{name}' at '{path}' has an incorrect segment length: a managed cluster's name has one segment"
        )));
    }
    let mut body = Map::new();
    for (key, value) in &resource {
        if matches!(key.as_str(), "type" | "apiVersion" | "name")
            || RESOURCE_IGNORED_KEYS.contains(&key.as_str())
        {
            continue;
        }
        if !RESOURCE_BODY_KEYS.contains(&key.as_str()) {
            return Err(invalid_template(format!(
                "The template resource property '{key}' at '{path}' is not supported by the local cloud emulator"
            )));
        }
        body.insert(key.clone(), value.clone());
    }
    Ok(PlannedResource {
        name,
        body: Value::Object(body),
    })
}

/// Check a template and evaluate it for these parameters in this resource group (as ARM answers it).
fn plan(
    template: &Value,
    supplied: Map<String, Value>,
    resource_group: &Value,
) -> Result<Plan, ArmErrorDetail> {
    let Value::Object(template) = template else {
        return Err(invalid_template("The template must be a JSON object"));
    };
    if !template.get("contentVersion").is_some_and(Value::is_string) {
        return Err(invalid_template(
            "Required property 'contentVersion' not found in JSON",
        ));
    }
    if template.contains_key("languageVersion") {
        return Err(invalid_template(
            "The template property 'languageVersion' (symbolic names) is not supported by the local cloud emulator",
        ));
    }
    if template
        .get("functions")
        .is_some_and(|functions| functions.as_array().is_none_or(|f| !f.is_empty()))
    {
        return Err(invalid_template(
            "User-defined template functions are not supported by the local cloud emulator",
        ));
    }
    let declared = match template.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(invalid_template(
                "The template 'parameters' must be an object",
            ));
        }
    };
    let Parameters { values, typed } = resolve_parameters(&declared, supplied, resource_group)?;
    let scope = Scope {
        parameters: &values,
        resource_group,
    };

    let Some(Value::Array(resources)) = template.get("resources") else {
        return Err(invalid_template(
            "Required property 'resources' not found in JSON, or it is not an array",
        ));
    };
    let mut planned = Vec::new();
    let mut locations: Vec<String> = Vec::new();
    for (index, resource) in resources.iter().enumerate() {
        let resource = plan_resource(&scope, resource, index)?;
        if let Some(location) = resource.body.get("location").and_then(Value::as_str)
            && !locations.iter().any(|l| l.eq_ignore_ascii_case(location))
        {
            locations.push(location.to_string());
        }
        planned.push(resource);
    }

    let mut outputs = Map::new();
    if let Some(declared_outputs) = template.get("outputs").and_then(Value::as_object) {
        for (name, output) in declared_outputs {
            let path = format!("outputs.{name}");
            let type_name = output
                .get("type")
                .and_then(Value::as_str)
                .and_then(type_name)
                .ok_or_else(|| {
                    invalid_template(format!("The template output '{name}' has no valid 'type'"))
                })?;
            let value = scope.resolve(
                output.get("value").unwrap_or(&Value::Null),
                &format!("{path}.value"),
            )?;
            outputs.insert(name.clone(), json!({"type": type_name, "value": value}));
        }
    }
    let providers = if planned.is_empty() {
        json!([])
    } else {
        json!([{
            "namespace": "Microsoft.ContainerService",
            "resourceTypes": [{"resourceType": "managedClusters", "locations": locations}],
        }])
    };
    Ok(Plan {
        parameters: typed,
        outputs,
        providers,
        resources: planned,
    })
}

// ----- Requests -----

/// The deployment request body `{"properties": {"mode", "template", "parameters"}}`, checked; the mode, the
/// template and the supplied parameter values.
fn request(ctx: &Ctx) -> Result<(String, Value, Map<String, Value>), Response> {
    let body: Value = serde_json::from_slice(&ctx.body).map_err(|error| {
        arm_error(
            StatusCode::BAD_REQUEST,
            ArmErrorBody::new(
                "InvalidRequestContent",
                format!(
                    "The request content was invalid and could not be deserialized: '{error}'."
                ),
            ),
        )
    })?;
    let properties = body.get("properties").cloned().unwrap_or(Value::Null);
    let mode = properties
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !mode.eq_ignore_ascii_case("Incremental") {
        let error = if mode.is_empty() {
            ArmErrorBody::new(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'Required property 'mode' not found in JSON. Path 'properties'.'.",
            )
        } else {
            ArmErrorBody::new(
                "EmulatorUnsupportedDeploymentMode",
                format!(
                    "The local cloud emulator does not support deployment mode '{mode}': only 'Incremental'."
                ),
            )
        };
        return Err(arm_error(StatusCode::BAD_REQUEST, error));
    }
    for unsupported in ["templateLink", "parametersLink"] {
        if properties.get(unsupported).is_some() {
            return Err(bad_request(invalid_template(format!(
                "The deployment property '{unsupported}' (linked templates) is not supported by the local cloud emulator: send the template inline"
            ))));
        }
    }
    let Some(template) = properties.get("template").filter(|t| !t.is_null()) else {
        return Err(bad_request(invalid_template(
            "The deployment has no 'template'",
        )));
    };
    let supplied = supplied_parameters(properties.get("parameters")).map_err(bad_request)?;
    Ok(("Incremental".into(), template.clone(), supplied))
}

/// The resource group `group` of `subscription` (as stored), or `404 ResourceGroupNotFound`.
fn resource_group(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
) -> Result<ResourceGroupRecord, Response> {
    state
        .store()
        .resource_groups
        .get(&subscription.group_key(group))
        .cloned()
        .ok_or_else(|| super::resource_group_not_found(group))
}

/// Read a response body the emulator built (always a complete buffer, so one poll finishes it).
fn answer_body(response: Response) -> Value {
    let mut body = std::pin::pin!(axum::body::to_bytes(response.into_body(), usize::MAX));
    match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(bytes)) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// PUT one cluster through the managed-cluster handler, as a client's PUT would be: the operation it started, or
/// the error it answered.
fn put_cluster(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
    resource: &PlannedResource,
) -> DeployedResource {
    let id = cluster_id(subscription, group, &resource.name);
    let uri = format!(
        "{id}?api-version={}",
        aks_model::MANAGED_CLUSTERS_API_VERSION
    );
    let Ok(uri) = uri.parse::<axum::http::Uri>() else {
        return DeployedResource {
            id,
            operation: None,
            error: Some(ArmErrorDetail {
                code: "InvalidResourceName".into(),
                message: format!("Resource name '{}' is invalid.", resource.name),
                ..ArmErrorDetail::default()
            }),
        };
    };
    let ctx = Ctx::new(
        Method::PUT,
        &uri,
        HeaderMap::new(),
        Bytes::from(resource.body.to_string()),
    );
    let response = managed_clusters::put(state, &ctx, subscription, group, &resource.name);
    let status = response.status();
    let operation = response
        .headers()
        .get("azure-asyncoperation")
        .and_then(|value| value.to_str().ok())
        .and_then(|url| url.split('?').next())
        .and_then(|url| url.rsplit('/').next())
        .map(str::to_string);
    let body = answer_body(response);
    if status.is_success() {
        let id = body["id"].as_str().map(str::to_string).unwrap_or(id);
        return DeployedResource {
            id,
            operation,
            error: None,
        };
    }
    let error = serde_json::from_value::<ArmErrorBody>(body)
        .map(|body| body.error)
        .unwrap_or_else(|_| ArmErrorDetail {
            code: "InternalServerError".into(),
            message: format!("The managed cluster PUT answered {status}."),
            ..ArmErrorDetail::default()
        });
    DeployedResource {
        id,
        operation: None,
        error: Some(error),
    }
}

/// Advance a running deployment: read its clusters' operations (each read counts a poll), then settle its state.
/// Returns whether the store changed.
fn advance(state: &SharedState, store: &mut Store, key: &DeploymentKey) -> bool {
    let Some(record) = store.services.get_mut::<Deployments>().get(key) else {
        return false;
    };
    if record.state.is_terminal() {
        return false;
    }
    let operations: Vec<String> = record
        .resources
        .iter()
        .filter(|resource| resource.error.is_none())
        .filter_map(|resource| resource.operation.clone())
        .collect();
    for id in &operations {
        operations::advance(state, store, id);
    }
    let mut pending = false;
    let mut resources = store.services.get_mut::<Deployments>()[key]
        .resources
        .clone();
    for resource in resources.iter_mut().filter(|r| r.error.is_none()) {
        let Some(id) = &resource.operation else {
            continue;
        };
        match store.operations.get(id).and_then(|o| o.outcome.as_ref()) {
            None => pending = true,
            Some(Outcome::Succeeded { .. }) => {}
            Some(Outcome::Failed { error, .. }) | Some(Outcome::Canceled { error, .. }) => {
                resource.error = Some(error.clone());
            }
        }
    }
    let Some(record) = store.services.get_mut::<Deployments>().get_mut(key) else {
        return false;
    };
    record.resources = resources;
    record.duration_ms = now_ms().saturating_sub(record.started_ms);
    if pending {
        record.state = DeploymentState::Running;
        return true;
    }
    let details: Vec<ArmErrorDetail> = record
        .resources
        .iter()
        .filter_map(|resource| resource.error.clone())
        .collect();
    record.timestamp = rfc3339_now();
    if details.is_empty() {
        record.state = DeploymentState::Succeeded;
    } else {
        record.state = DeploymentState::Failed;
        record.error = Some(ArmErrorDetail {
            code: "DeploymentFailed".into(),
            message: DEPLOYMENT_FAILED.into(),
            target: Some(deployment_id(
                &record.subscription,
                &record.resource_group,
                &record.name,
            )),
            details,
            ..ArmErrorDetail::default()
        });
    }
    tracing::info!(deployment = %record.name, state = record.state.as_str(), "deployment finished");
    true
}

/// The deployment resource as ARM answers it.
fn view(record: &DeploymentRecord) -> Value {
    let mut properties = json!({
        "templateHash": record.template_hash,
        "parameters": record.parameters,
        "mode": record.mode,
        "provisioningState": record.state.as_str(),
        "timestamp": record.timestamp,
        "duration": iso_duration(record.duration_ms),
        "correlationId": record.correlation_id,
        "providers": record.providers,
        "dependencies": [],
    });
    match record.state {
        DeploymentState::Succeeded => {
            properties["outputs"] = Value::Object(record.outputs.clone());
            properties["outputResources"] = record
                .resources
                .iter()
                .map(|resource| json!({"id": resource.id}))
                .collect();
        }
        DeploymentState::Failed => {
            properties["error"] = json!(record.error);
        }
        DeploymentState::Accepted | DeploymentState::Running => {}
    }
    json!({
        "id": deployment_id(&record.subscription, &record.resource_group, &record.name),
        "name": record.name,
        "type": DEPLOYMENT_TYPE,
        "properties": properties,
    })
}

/// `409 DeploymentActive` while the deployment `key` (advanced first) is still running.
fn refuse_if_active(state: &SharedState, key: &DeploymentKey, name: &str) -> Result<(), Response> {
    let mut store = state.store();
    advance(state, &mut store, key);
    if let Some(active) = store.services.get_mut::<Deployments>().get(key)
        && !active.state.is_terminal()
    {
        return Err(arm_error(
            StatusCode::CONFLICT,
            ArmErrorBody::new(
                "DeploymentActive",
                format!(
                    "Unable to edit or replace deployment '{name}': previous deployment from '{}' is still active. Please see https://aka.ms/arm-deploy for usage details.",
                    active.timestamp
                ),
            ),
        ));
    }
    Ok(())
}

/// `PUT …/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/{name}`: validate the template
/// (`400 InvalidTemplate`, also recorded as a `Failed` deployment), PUT its clusters, answer 201 `Accepted` with
/// `Azure-AsyncOperation`.
pub(super) fn put(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let resource_group = match resource_group(state, subscription, group) {
        Ok(resource_group) => resource_group,
        Err(response) => return response,
    };
    let key = key(subscription, group, name);
    if let Err(response) = refuse_if_active(state, &key, name) {
        return response;
    }
    let (mode, template, supplied) = match request(ctx) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let stored_name = state
        .store()
        .services
        .get_mut::<Deployments>()
        .get(&key)
        .map(|record| record.name.clone())
        .unwrap_or_else(|| name.to_string());
    let mut record = DeploymentRecord {
        subscription: subscription.clone(),
        resource_group: resource_group.name.clone(),
        name: stored_name,
        operation_id: random_guid(),
        state: DeploymentState::Accepted,
        mode,
        template_hash: template_hash(&template),
        parameters: Map::new(),
        outputs: Map::new(),
        providers: json!([]),
        correlation_id: ctx
            .header("x-ms-correlation-request-id")
            .map(str::to_string)
            .unwrap_or_else(random_guid),
        started_ms: now_ms(),
        timestamp: rfc3339_now(),
        duration_ms: 0,
        resources: Vec::new(),
        error: None,
    };
    let group_view = resource_groups::view(subscription, &resource_group);
    let plan = match plan(&template, supplied, &group_view) {
        Ok(plan) => plan,
        Err(error) => {
            tracing::info!(deployment = %record.name, code = %error.code, "deployment template refused");
            record.state = DeploymentState::Failed;
            record.error = Some(error.clone());
            state
                .store()
                .services
                .get_mut::<Deployments>()
                .insert(key, record);
            return bad_request(error);
        }
    };
    record.parameters = plan.parameters;
    record.outputs = plan.outputs;
    record.providers = plan.providers;
    // The store lock is not held here: each cluster PUT takes it, as a client's request would.
    record.resources = plan
        .resources
        .iter()
        .map(|resource| put_cluster(state, subscription, &resource_group.name, resource))
        .collect();
    tracing::info!(deployment = %record.name, group = %record.resource_group, resources = record.resources.len(), "deployment accepted");
    let view = view(&record);
    let operation_id = record.operation_id.clone();
    let stored_name = record.name.clone();
    let retry_after = {
        let mut store = state.store();
        store.services.get_mut::<Deployments>().insert(key, record);
        store.lro.retry_after_seconds
    };
    let api_version = ctx.query("api-version").unwrap_or(DEFAULT_API_VERSION);
    let mut response = json(StatusCode::CREATED, &view);
    let headers = response.headers_mut();
    set(
        headers,
        "azure-asyncoperation",
        &format!(
            "{}{}/operationStatuses/{operation_id}?api-version={api_version}",
            state.base_url(),
            deployment_id(subscription, &resource_group.name, &stored_name)
        ),
    );
    set(headers, "retry-after", &retry_after.to_string());
    response
}

/// Read a deployment of `subscription` after advancing it.
fn read(
    state: &SharedState,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Result<DeploymentRecord, Response> {
    resource_group(state, subscription, group)?;
    let key = key(subscription, group, name);
    let mut store = state.store();
    if advance(state, &mut store, &key) {
        state.save_or_log(&store);
    }
    store
        .services
        .get_mut::<Deployments>()
        .get(&key)
        .cloned()
        .ok_or_else(|| deployment_not_found(subscription, group, name))
}

/// `GET …/deployments/{name}`.
pub(super) fn get(
    state: &SharedState,
    subscription: &Subscription,
    (group, name): (&str, &str),
) -> Response {
    match read(state, subscription, group, name) {
        Ok(record) => json(StatusCode::OK, &view(&record)),
        Err(response) => response,
    }
}

/// `GET …/deployments/{name}/operationStatuses/{id}`: `Running` (with `Retry-After`), then `Succeeded` or
/// `Failed` with the deployment's error.
pub(super) fn status(
    state: &SharedState,
    subscription: &Subscription,
    (group, name): (&str, &str),
    id: &str,
) -> Response {
    let record = match read(state, subscription, group, name) {
        Ok(record) if record.operation_id.eq_ignore_ascii_case(id) => record,
        Ok(_) => {
            // Invented message, as for cluster operations.
            return arm_error(
                StatusCode::NOT_FOUND,
                ArmErrorBody::new(
                    "OperationNotFound",
                    format!("The operation '{id}' could not be found."),
                ),
            );
        }
        Err(response) => return response,
    };
    let mut body = json!({"status": record.state.as_str()});
    if let Some(error) = &record.error {
        body["error"] = json!(error);
    }
    let mut response = json(StatusCode::OK, &body);
    if !record.state.is_terminal() {
        let retry_after = state.store().lro.retry_after_seconds;
        set(
            response.headers_mut(),
            "retry-after",
            &retry_after.to_string(),
        );
    }
    response
}

/// `GET …/deployments`: the group's deployments, paged.
pub(super) fn list(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: &str,
) -> Response {
    if let Err(response) = resource_group(state, subscription, group) {
        return response;
    }
    let group_key = subscription.group_key(group);
    let mut store = state.store();
    let keys: Vec<DeploymentKey> = store
        .services
        .get_mut::<Deployments>()
        .keys()
        .filter(|(key, _)| *key == group_key)
        .cloned()
        .collect();
    for key in &keys {
        advance(state, &mut store, key);
    }
    let items: Vec<Value> = keys
        .iter()
        .filter_map(|key| store.services.get::<Deployments>()?.get(key))
        .map(view)
        .collect();
    drop(store);
    page(state, ctx, items)
}

/// `POST …/deployments/{name}/validate`: the template checked and evaluated without deploying; 200 with the
/// deployment as it would start (`validatedResources`), or `400 InvalidTemplate`.
pub(super) fn validate(
    state: &SharedState,
    ctx: &Ctx,
    subscription: &Subscription,
    group: &str,
    name: &str,
) -> Response {
    let resource_group = match resource_group(state, subscription, group) {
        Ok(resource_group) => resource_group,
        Err(response) => return response,
    };
    let (mode, template, supplied) = match request(ctx) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let group_view = resource_groups::view(subscription, &resource_group);
    let plan = match plan(&template, supplied, &group_view) {
        Ok(plan) => plan,
        Err(error) => return bad_request(error),
    };
    let resources: Vec<Value> = plan
        .resources
        .iter()
        .map(|resource| json!({"id": cluster_id(subscription, &resource_group.name, &resource.name)}))
        .collect();
    json(
        StatusCode::OK,
        &json!({
            "id": deployment_id(subscription, &resource_group.name, name),
            "name": name,
            "type": DEPLOYMENT_TYPE,
            "properties": {
                "templateHash": template_hash(&template),
                "parameters": plan.parameters,
                "mode": mode,
                "provisioningState": "Succeeded",
                "timestamp": rfc3339_now(),
                "duration": iso_duration(0),
                "correlationId": random_guid(),
                "providers": plan.providers,
                "dependencies": [],
                "validatedResources": resources,
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> Value {
        let record = ResourceGroupRecord {
            name: "rg".into(),
            location: "eastus".into(),
            tags: None,
            managed_by: None,
        };
        resource_groups::view(&Subscription::own(), &record)
    }

    fn template(resource: Value) -> Value {
        json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {
                "clusterName": {"type": "string", "defaultValue": "c1"},
                "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
            },
            "resources": [resource],
            "outputs": {"name": {"type": "string", "value": "[parameters('clusterName')]"}},
        })
    }

    fn cluster(extra: Value) -> Value {
        let mut resource = json!({
            "type": "Microsoft.ContainerService/managedClusters",
            "apiVersion": "2026-08-01",
            "name": "[parameters('clusterName')]",
            "location": "[parameters('location')]",
            "properties": {"dnsPrefix": "[[literal]", "enableRBAC": true},
        });
        for (key, value) in extra.as_object().unwrap() {
            resource[key] = value.clone();
        }
        resource
    }

    fn message(result: Result<Plan, ArmErrorDetail>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(error) => {
                assert_eq!(error.code, "InvalidTemplate");
                error.message
            }
        }
    }

    #[test]
    fn parameters_defaults_and_escapes_are_evaluated() {
        let mut supplied = Map::new();
        supplied.insert("clusterName".into(), json!("c2"));
        let plan = plan(&template(cluster(json!({}))), supplied, &group()).unwrap();
        assert_eq!(plan.resources.len(), 1);
        assert_eq!(plan.resources[0].name, "c2");
        assert_eq!(
            plan.resources[0].body,
            json!({"location": "eastus", "properties": {"dnsPrefix": "[literal]", "enableRBAC": true}})
        );
        assert_eq!(
            Value::Object(plan.parameters),
            json!({"clusterName": {"type": "String", "value": "c2"}, "location": {"type": "String", "value": "eastus"}})
        );
        assert_eq!(
            plan.outputs["name"],
            json!({"type": "String", "value": "c2"})
        );
    }

    #[test]
    fn unsupported_expressions_and_features_are_named() {
        let text = message(plan(
            &template(cluster(json!({"tags": {"a": "[concat('x', 'y')]"}}))),
            Map::new(),
            &group(),
        ));
        assert!(text.contains("[concat('x', 'y')]"), "{text}");
        assert!(text.contains("resources[0].tags.a"), "{text}");
        assert!(text.contains("not supported"), "{text}");
        let text = message(plan(
            &template(cluster(json!({"copy": {"name": "n", "count": 2}}))),
            Map::new(),
            &group(),
        ));
        assert!(text.contains("'copy'"), "{text}");
        let text = message(plan(
            &template(
                json!({"type": "Microsoft.Storage/storageAccounts", "apiVersion": "1", "name": "s"}),
            ),
            Map::new(),
            &group(),
        ));
        assert!(text.contains("Microsoft.Storage/storageAccounts"), "{text}");
        let text = message(plan(
            &template(cluster(json!({"location": "[parameters('nope')]"}))),
            Map::new(),
            &group(),
        ));
        assert!(text.contains("'nope' is not found"), "{text}");
        let text = message(plan(
            &template(cluster(json!({"location": "[parameters('location']"}))),
            Map::new(),
            &group(),
        ));
        assert!(text.contains("is not valid"), "{text}");
    }

    #[test]
    fn parameter_values_are_checked() {
        let mut unknown = Map::new();
        unknown.insert("other".into(), json!("x"));
        assert!(
            message(plan(&template(cluster(json!({}))), unknown, &group())).contains("'other'")
        );
        let mut wrong_type = Map::new();
        wrong_type.insert("clusterName".into(), json!(3));
        assert!(
            message(plan(&template(cluster(json!({}))), wrong_type, &group()))
                .contains("Expected a value of type 'String'")
        );
        let mut missing = template(cluster(json!({})));
        missing["parameters"]["clusterName"]
            .as_object_mut()
            .unwrap()
            .remove("defaultValue");
        assert!(message(plan(&missing, Map::new(), &group())).contains("is not provided"));
    }

    #[test]
    fn expressions_parse() {
        let scope_parameters = {
            let mut map = Map::new();
            map.insert("o".into(), json!({"a": ["x", "y"]}));
            map
        };
        let group = group();
        let scope = Scope {
            parameters: &scope_parameters,
            resource_group: &group,
        };
        assert_eq!(
            scope
                .resolve(&json!("[parameters('o').a[1]]"), "p")
                .unwrap(),
            json!("y")
        );
        assert_eq!(
            scope
                .resolve(&json!("[ resourceGroup().name ]"), "p")
                .unwrap(),
            json!("rg")
        );
        assert_eq!(
            scope
                .resolve(&json!("[parameters('o')['A']]"), "p")
                .unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(scope.resolve(&json!("[not"), "p").unwrap(), json!("[not"));
        assert!(scope.resolve(&json!("[variables('v')]"), "p").is_err());
    }

    #[test]
    fn durations_and_hashes() {
        assert_eq!(iso_duration(1234), "PT1.234S");
        assert_eq!(
            template_hash(&json!({"a": 1})),
            template_hash(&json!({"a": 1}))
        );
        assert_ne!(
            template_hash(&json!({"a": 1})),
            template_hash(&json!({"a": 2}))
        );
    }
}
