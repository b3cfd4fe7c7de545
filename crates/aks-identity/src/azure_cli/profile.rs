//! `azureProfile.json`: the subscriptions az knows, their users and tenants, and which one is the default
//! (Azure/azure-cli: `src/azure-cli-core/azure/cli/core/_profile.py`, `_session.py`). See
//! docs/azure-cli-files.md.
//!
//! The file is kept as a JSON tree, so keys we do not know survive; [`SubscriptionRecord`] is the typed view of one
//! entry. It is read with or without a UTF-8 BOM, and written as az's `Session` writes it (BOM, `json.dump`
//! defaults, non-ASCII escaped), but atomically. A file that does not parse is never overwritten.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config_dir::{AzureConfigDir, file_names};
use super::error::FileError;
use super::files::{UTF8_BOM, read_json, write_atomic};
use super::python_json::{Layout, to_python_json};

/// `name` of a tenant-level account (`--allow-no-subscriptions`).
pub const TENANT_LEVEL_ACCOUNT_NAME: &str = "N/A(tenant level account)";

/// Who a profile entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserKind {
    /// A person (`user.name` is the UPN).
    #[serde(rename = "user")]
    User,
    /// A service principal or managed identity (`user.name` is the client id, or `systemAssignedIdentity`…).
    #[serde(rename = "servicePrincipal")]
    ServicePrincipal,
}

/// `user` of a profile entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileUser {
    /// UPN, client id, or `systemAssignedIdentity`/`userAssignedIdentity`.
    pub name: String,
    /// `user` or `servicePrincipal`.
    #[serde(rename = "type")]
    pub kind: UserKind,
    /// Other keys (`cloudShellID`, `assignedIdentityInfo`, `useCertSNIssuerAuth`, …), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `subscriptions`, in az's key order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRecord {
    /// Subscription GUID (the tenant id for a tenant-level account).
    pub id: String,
    /// Display name.
    pub name: String,
    /// ARM state (`Enabled`, `Disabled`, …).
    pub state: String,
    /// Whose entry it is.
    pub user: ProfileUser,
    /// The default subscription.
    pub is_default: bool,
    /// The tenant az authenticates to for this subscription.
    pub tenant_id: String,
    /// The cloud (`AzureCloud`, …).
    pub environment_name: String,
    /// Other keys (`homeTenantId`, `tenantDefaultDomain`, `tenantDisplayName`, `managedByTenants`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SubscriptionRecord {
    fn matches(&self, id_or_name: &str) -> bool {
        self.id.eq_ignore_ascii_case(id_or_name)
            || self.name.to_lowercase() == id_or_name.to_lowercase()
    }
}

/// Why a profile operation failed; the messages are az's.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// No entry in the active cloud.
    #[error("Please run 'az login' to setup account.")]
    NotLoggedIn,
    /// No entry is the default.
    #[error("No subscription found. Run 'az account set' to select a subscription.")]
    NoDefault,
    /// No entry has this id or name.
    #[error("Subscription '{0}' not found. Check the spelling and casing and try again.")]
    NotFound(String),
    /// Several entries have this name.
    #[error("Multiple subscriptions with the name '{0}' found. Specify the subscription ID.")]
    AmbiguousName(String),
    /// `account set`: no entry of the active cloud matches (az prints the value lower-cased).
    #[error("The subscription of '{}' doesn't exist in cloud '{cloud}'.", subscription.to_lowercase())]
    NotInCloud {
        /// The id or name asked for.
        subscription: String,
        /// The active cloud.
        cloud: String,
    },
    /// `account set`: more than one entry of the active cloud matches.
    #[error("The subscription of '{}' has more than one match in cloud '{cloud}'.", subscription.to_lowercase())]
    SeveralInCloud {
        /// The id or name asked for.
        subscription: String,
        /// The active cloud.
        cloud: String,
    },
}

/// The contents of `azureProfile.json`.
#[derive(Clone, Debug)]
pub struct Profile {
    path: PathBuf,
    root: Map<String, Value>,
}

impl Profile {
    /// Read the profile of `directory` (a missing file is an empty profile).
    pub fn load(directory: &AzureConfigDir) -> Result<Profile, FileError> {
        let path = directory.file(file_names::PROFILE);
        let root = match read_json(&path)? {
            None => Map::new(),
            Some(Value::Object(root)) => root,
            Some(_) => return Err(shape(&path, "the top level is not an object")),
        };
        let profile = Profile { path, root };
        profile.subscriptions()?;
        Ok(profile)
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Every entry, of every cloud.
    pub fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>, FileError> {
        match self.root.get("subscriptions") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(list) => Vec::<SubscriptionRecord>::deserialize(list)
                .map_err(|error| shape(&self.path, &format!("subscriptions: {error}"))),
        }
    }

    /// The entries of `cloud`.
    pub fn subscriptions_in(&self, cloud: &str) -> Result<Vec<SubscriptionRecord>, FileError> {
        let mut all = self.subscriptions()?;
        all.retain(|entry| entry.environment_name == cloud);
        Ok(all)
    }

    /// az's `get_subscription`: the default entry of `cloud`, or the one whose id or name (any case) is given.
    pub fn subscription(
        &self,
        cloud: &str,
        id_or_name: Option<&str>,
    ) -> Result<SubscriptionRecord, ProfileError> {
        let entries = self.subscriptions_in(cloud)?;
        if entries.is_empty() {
            return Err(ProfileError::NotLoggedIn);
        }
        let mut found: Vec<SubscriptionRecord> = entries
            .into_iter()
            .filter(|entry| match id_or_name {
                Some(wanted) if !wanted.is_empty() => entry.matches(wanted),
                _ => entry.is_default,
            })
            .collect();
        match (found.len(), id_or_name.filter(|wanted| !wanted.is_empty())) {
            (0, Some(wanted)) => Err(ProfileError::NotFound(wanted.to_string())),
            (0, None) => Err(ProfileError::NoDefault),
            (1, _) => Ok(found.remove(0)),
            (_, wanted) => Err(ProfileError::AmbiguousName(
                wanted.unwrap_or("None").to_string(),
            )),
        }
    }

    /// az's `account set`: the one entry of `cloud` with this id or name becomes the only default (of every
    /// cloud). Returns it; the caller records its id in `clouds.config` (see [`set_default_subscription`]).
    pub fn set_default(
        &mut self,
        cloud: &str,
        id_or_name: &str,
    ) -> Result<SubscriptionRecord, ProfileError> {
        let all = self.subscriptions()?;
        let matching: Vec<usize> = (0..all.len())
            .filter(|&index| all[index].environment_name == cloud && all[index].matches(id_or_name))
            .collect();
        let chosen = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(ProfileError::NotInCloud {
                    subscription: id_or_name.to_string(),
                    cloud: cloud.to_string(),
                });
            }
            _ => {
                return Err(ProfileError::SeveralInCloud {
                    subscription: id_or_name.to_string(),
                    cloud: cloud.to_string(),
                });
            }
        };
        for (index, entry) in self.entries_mut().iter_mut().enumerate() {
            if let Some(object) = entry.as_object_mut() {
                object.insert("isDefault".into(), Value::Bool(index == chosen));
            }
        }
        let mut record = all[chosen].clone();
        record.is_default = true;
        Ok(record)
    }

    /// az's login merge: entries are keyed by `id` (a new entry replaces an old one in its place, new ones are
    /// appended); the default is the `preferred` id or name among the new entries, else the previous default if it
    /// came back, else the first `Enabled` new entry, else the first new one. Returns the default's id. A login
    /// that found nothing changes nothing (and returns the current default's id, if any).
    pub fn merge_login(
        &mut self,
        new: &[SubscriptionRecord],
        preferred: Option<&str>,
    ) -> Result<Option<String>, FileError> {
        let previous_default = self
            .subscriptions()?
            .into_iter()
            .find(|entry| entry.is_default);
        if new.is_empty() {
            // az fails here (it picks the first of no subscriptions) and writes nothing: keep the profile as is.
            return Ok(previous_default.map(|entry| entry.id));
        }
        let mut merged: Vec<Value> = std::mem::take(self.entries_mut());
        for record in new {
            let value = serde_json::to_value(record).expect("a record is JSON");
            let position = merged.iter().position(|entry| {
                entry.get("id").and_then(Value::as_str) == Some(record.id.as_str())
            });
            match position {
                Some(index) => merged[index] = value,
                None => merged.push(value),
            }
        }
        *self.entries_mut() = merged;
        let chosen = preferred
            .and_then(|wanted| new.iter().find(|record| record.matches(wanted)))
            .or_else(|| {
                let previous = previous_default.as_ref()?;
                new.iter().find(|record| record.id == previous.id)
            })
            .or_else(|| new.iter().find(|record| record.state == "Enabled"))
            .or_else(|| new.first())
            .map(|record| record.id.clone());
        for entry in self.entries_mut() {
            if let Some(object) = entry.as_object_mut() {
                let is_chosen = chosen.is_some()
                    && object.get("id").and_then(Value::as_str) == chosen.as_deref();
                object.insert("isDefault".into(), Value::Bool(is_chosen));
            }
        }
        Ok(chosen)
    }

    /// az's logout: remove every entry (of every cloud) whose `user.name` is `user`, ignoring case. No new default
    /// is chosen. Returns how many were removed.
    pub fn remove_user(&mut self, user: &str) -> usize {
        let wanted = user.to_lowercase();
        let entries = self.entries_mut();
        let before = entries.len();
        entries.retain(|entry| {
            let name = entry
                .pointer("/user/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            name.to_lowercase() != wanted
        });
        before - entries.len()
    }

    /// az's `account clear`: no subscriptions; `installationId` and other keys are kept.
    pub fn clear(&mut self) {
        self.root
            .insert("subscriptions".into(), Value::Array(Vec::new()));
    }

    /// The bytes az's `Session` would write: BOM, then `json.dump` with its defaults.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend(to_python_json(&self.root, Layout::OneLine));
        bytes
    }

    /// Replace the file atomically.
    pub fn save(&self) -> Result<(), FileError> {
        write_atomic(&self.path, &self.to_bytes())
    }

    fn entries_mut(&mut self) -> &mut Vec<Value> {
        let entry = self
            .root
            .entry("subscriptions")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            *entry = Value::Array(Vec::new());
        }
        entry.as_array_mut().expect("an array")
    }
}

fn shape(path: &std::path::Path, problem: &str) -> FileError {
    FileError::Shape {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Read the profile, change it and write it back in one quick step. az rewrites the file whole without a lock;
/// aksctl's writers also take `azureProfile.json.lockfile` (msal-extensions' protocol, as for the token cache)
/// so that aksctl processes logging in at once never drop each other's entries (az's unlocked rewrite still can).
pub fn update_profile<T>(
    directory: &AzureConfigDir,
    change: impl FnOnce(&mut Profile) -> Result<T, ProfileError>,
) -> Result<T, ProfileError> {
    let _lock = super::lock::CacheLock::acquire(&directory.file(file_names::PROFILE))?;
    let mut profile = Profile::load(directory)?;
    let result = change(&mut profile)?;
    profile.save()?;
    Ok(result)
}

/// `az account set`: make the one entry of the active cloud with this id or name the default, and record it in
/// `clouds.config`.
pub fn set_default_subscription(
    directory: &AzureConfigDir,
    id_or_name: &str,
) -> Result<SubscriptionRecord, ProfileError> {
    let cloud = directory.active_cloud()?;
    set_default_subscription_in(directory, &cloud, id_or_name)
}

/// [`set_default_subscription`] among the entries of `cloud` (aksctl's active cloud).
pub fn set_default_subscription_in(
    directory: &AzureConfigDir,
    cloud: &str,
    id_or_name: &str,
) -> Result<SubscriptionRecord, ProfileError> {
    let record = update_profile(directory, |profile| profile.set_default(cloud, id_or_name))?;
    directory.set_cloud_subscription(cloud, &record.id)?;
    Ok(record)
}

/// What `az cloud set` did to the default subscription after switching to a cloud.
#[derive(Debug)]
pub enum CloudSubscription {
    /// This entry is now the default.
    Switched(Box<SubscriptionRecord>),
    /// The subscription to use could not be made the default (az's message).
    Failed(ProfileError),
    /// There is no subscription to use: nobody is logged in to the cloud.
    NoLogin,
}

/// az's `_set_active_subscription` after a cloud switch (Azure/azure-cli: `src/azure-cli-core/azure/cli/core/
/// cloud.py`): the subscription recorded for `cloud` in `clouds.config`, else the cloud's first `Enabled` entry,
/// becomes the default, as `account set` makes it.
pub fn switch_cloud_subscription(
    directory: &AzureConfigDir,
    cloud: &str,
) -> Result<CloudSubscription, FileError> {
    let wanted = match directory.cloud_subscription(cloud)? {
        Some(id) => Some(id),
        None => Profile::load(directory)?
            .subscriptions_in(cloud)?
            .into_iter()
            .find(|entry| entry.state == "Enabled")
            .map(|entry| entry.id),
    };
    let Some(wanted) = wanted else {
        return Ok(CloudSubscription::NoLogin);
    };
    match set_default_subscription_in(directory, cloud, &wanted) {
        Ok(record) => Ok(CloudSubscription::Switched(Box::new(record))),
        Err(ProfileError::File(error)) => Err(error),
        Err(error) => Ok(CloudSubscription::Failed(error)),
    }
}

/// A login's profile update: merge `new` (see [`Profile::merge_login`]) and record the default in
/// `clouds.config` for the active cloud. Returns the default's id.
pub fn merge_login_subscriptions(
    directory: &AzureConfigDir,
    new: &[SubscriptionRecord],
    preferred: Option<&str>,
) -> Result<Option<String>, ProfileError> {
    let cloud = directory.active_cloud()?;
    merge_login_subscriptions_in(directory, &cloud, new, preferred)
}

/// [`merge_login_subscriptions`] recording the default for `cloud` (aksctl's active cloud).
pub fn merge_login_subscriptions_in(
    directory: &AzureConfigDir,
    cloud: &str,
    new: &[SubscriptionRecord],
    preferred: Option<&str>,
) -> Result<Option<String>, ProfileError> {
    let chosen = update_profile(
        directory,
        |profile| Ok(profile.merge_login(new, preferred)?),
    )?;
    if let Some(id) = &chosen {
        directory.set_cloud_subscription(cloud, id)?;
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure_cli::config_dir::tests::environment;
    use serde_json::json;

    fn record(id: &str, name: &str, state: &str, user: &str, cloud: &str) -> SubscriptionRecord {
        serde_json::from_value(json!({
            "id": id, "name": name, "state": state, "user": {"name": user, "type": "user"},
            "isDefault": false, "tenantId": "t1", "environmentName": cloud, "homeTenantId": "t1",
            "managedByTenants": [],
        }))
        .unwrap()
    }

    fn directory_with(profile: &[u8]) -> (tempfile::TempDir, AzureConfigDir) {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("azureProfile.json"), profile).unwrap();
        let directory = AzureConfigDir::at(temp.path(), environment(&[]));
        (temp, directory)
    }

    const AZ_WRITTEN: &str = "\u{feff}{\"installationId\": \"i-1\", \"subscriptions\": [{\"id\": \"s1\", \"name\": \"Dev \\u00e9\", \"state\": \"Enabled\", \"user\": {\"name\": \"alice@contoso.com\", \"type\": \"user\"}, \"isDefault\": true, \"tenantId\": \"t1\", \"environmentName\": \"AzureCloud\", \"homeTenantId\": \"t1\", \"tenantDefaultDomain\": \"contoso.com\", \"managedByTenants\": [], \"futureKey\": {\"x\": 1}}, {\"id\": \"s2\", \"name\": \"Prod\", \"state\": \"Disabled\", \"user\": {\"name\": \"sp-app\", \"type\": \"servicePrincipal\"}, \"isDefault\": false, \"tenantId\": \"t1\", \"environmentName\": \"AzureCloud\"}, {\"id\": \"s3\", \"name\": \"Prod\", \"state\": \"Enabled\", \"user\": {\"name\": \"alice@contoso.com\", \"type\": \"user\"}, \"isDefault\": false, \"tenantId\": \"t2\", \"environmentName\": \"AzureChinaCloud\"}], \"futureTop\": 1}";

    #[test]
    fn a_cloud_switch_makes_the_recorded_or_first_enabled_subscription_the_default() {
        let (temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        // No record for AzureChinaCloud: its first Enabled entry (s3).
        let CloudSubscription::Switched(record) =
            switch_cloud_subscription(&directory, "AzureChinaCloud").unwrap()
        else {
            panic!("switched expected")
        };
        assert_eq!(record.id, "s3");
        let profile = Profile::load(&directory).unwrap();
        let defaults: Vec<String> = profile
            .subscriptions()
            .unwrap()
            .into_iter()
            .filter(|entry| entry.is_default)
            .map(|entry| entry.id)
            .collect();
        assert_eq!(defaults, ["s3"]);
        assert_eq!(
            directory.cloud_subscription("AzureChinaCloud").unwrap(),
            Some("s3".into())
        );
        // A recorded subscription wins, even a Disabled one; one that is gone is az's error, nothing changed.
        directory
            .set_cloud_subscription("AzureCloud", "s2")
            .unwrap();
        let CloudSubscription::Switched(record) =
            switch_cloud_subscription(&directory, "AzureCloud").unwrap()
        else {
            panic!("switched expected")
        };
        assert_eq!(record.id, "s2");
        directory
            .set_cloud_subscription("AzureCloud", "gone")
            .unwrap();
        let before = std::fs::read(temp.path().join("azureProfile.json")).unwrap();
        let CloudSubscription::Failed(error) =
            switch_cloud_subscription(&directory, "AzureCloud").unwrap()
        else {
            panic!("failed expected")
        };
        assert_eq!(
            error.to_string(),
            "The subscription of 'gone' doesn't exist in cloud 'AzureCloud'."
        );
        assert_eq!(
            std::fs::read(temp.path().join("azureProfile.json")).unwrap(),
            before
        );
        assert!(matches!(
            switch_cloud_subscription(&directory, "AzureUSGovernment").unwrap(),
            CloudSubscription::NoLogin
        ));
    }

    #[test]
    fn reads_with_bom_and_writes_back_byte_identical() {
        let (_temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        let profile = Profile::load(&directory).unwrap();
        assert_eq!(
            profile.to_bytes(),
            AZ_WRITTEN.as_bytes(),
            "BOM, json.dump separators, \\u escapes, unknown keys"
        );
        let without_bom = AZ_WRITTEN.trim_start_matches('\u{feff}');
        let (_temp, directory) = directory_with(without_bom.as_bytes());
        assert_eq!(
            Profile::load(&directory).unwrap().to_bytes(),
            AZ_WRITTEN.as_bytes()
        );
        let default = profile.subscription("AzureCloud", None).unwrap();
        assert_eq!(
            (default.id.as_str(), default.name.as_str()),
            ("s1", "Dev é")
        );
        assert_eq!(default.extra["futureKey"], json!({"x": 1}));
    }

    #[test]
    fn lookups_use_az_rules_and_messages() {
        let (_temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        let profile = Profile::load(&directory).unwrap();
        assert_eq!(
            profile.subscription("AzureCloud", Some("S2")).unwrap().id,
            "s2"
        );
        assert_eq!(
            profile
                .subscription("AzureCloud", Some("dev É"))
                .unwrap()
                .id,
            "s1"
        );
        let message =
            |result: Result<SubscriptionRecord, ProfileError>| result.unwrap_err().to_string();
        assert_eq!(
            message(profile.subscription("AzureCloud", Some("s3"))),
            "Subscription 's3' not found. Check the spelling and casing and try again."
        );
        assert_eq!(
            message(profile.subscription("AzureUSGovernment", None)),
            "Please run 'az login' to setup account."
        );
        assert_eq!(
            message(profile.subscription("AzureChinaCloud", None)),
            "No subscription found. Run 'az account set' to select a subscription."
        );
        let mut twice = profile.clone();
        twice
            .merge_login(
                &[record("s4", "Prod", "Enabled", "bob", "AzureCloud")],
                Some("s1"),
            )
            .unwrap();
        assert_eq!(
            message(twice.subscription("AzureCloud", Some("prod"))),
            "Multiple subscriptions with the name 'prod' found. Specify the subscription ID."
        );
    }

    #[test]
    fn account_set_keeps_one_default_across_clouds_and_updates_clouds_config() {
        let (temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        let chosen = set_default_subscription(&directory, "PROD").unwrap();
        assert_eq!(chosen.id, "s2");
        let profile = Profile::load(&directory).unwrap();
        let defaults: Vec<_> = profile
            .subscriptions()
            .unwrap()
            .into_iter()
            .filter(|s| s.is_default)
            .collect();
        assert_eq!(defaults.len(), 1);
        assert_eq!(defaults[0].id, "s2");
        assert_eq!(
            std::fs::read_to_string(temp.path().join("clouds.config")).unwrap(),
            "[AzureCloud]\nsubscription = s2\n"
        );
        let error = set_default_subscription(&directory, "S3").unwrap_err();
        assert_eq!(
            error.to_string(),
            "The subscription of 's3' doesn't exist in cloud 'AzureCloud'."
        );
        let bytes = std::fs::read(temp.path().join("azureProfile.json")).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    }

    #[test]
    fn login_merge_keys_by_id_and_picks_the_default_as_az_does() {
        let (_temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        let mut profile = Profile::load(&directory).unwrap();
        // s1 comes back for another user: replaced in place; the previous default s1 stays default.
        let new = [
            record("s9", "New", "Enabled", "bob@contoso.com", "AzureCloud"),
            record("s1", "Dev", "Enabled", "bob@contoso.com", "AzureCloud"),
        ];
        assert_eq!(
            profile.merge_login(&new, None).unwrap().as_deref(),
            Some("s1")
        );
        let ids: Vec<_> = profile
            .subscriptions()
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.user.name, s.is_default))
            .collect();
        assert_eq!(
            ids,
            [
                ("s1".into(), "bob@contoso.com".into(), true),
                ("s2".into(), "sp-app".into(), false),
                ("s3".into(), "alice@contoso.com".into(), false),
                ("s9".into(), "bob@contoso.com".into(), false),
            ]
        );
        // --subscription wins; else the first Enabled new entry; else the first.
        assert_eq!(
            profile.merge_login(&new, Some("NEW")).unwrap().as_deref(),
            Some("s9")
        );
        let mut fresh = Profile::load(&directory).unwrap();
        fresh.clear();
        let disabled_first = [
            record("d1", "Off", "Disabled", "bob", "AzureCloud"),
            record("e1", "On", "Enabled", "bob", "AzureCloud"),
        ];
        assert_eq!(
            fresh.merge_login(&disabled_first, None).unwrap().as_deref(),
            Some("e1")
        );
        let unchanged = fresh.to_bytes();
        assert_eq!(fresh.merge_login(&[], None).unwrap().as_deref(), Some("e1"));
        assert_eq!(
            fresh.to_bytes(),
            unchanged,
            "a login that found nothing changes nothing"
        );
        fresh.clear();
        assert_eq!(
            fresh
                .merge_login(&disabled_first[..1], None)
                .unwrap()
                .as_deref(),
            Some("d1")
        );
    }

    #[test]
    fn logout_removes_a_users_entries_in_every_cloud_and_clear_keeps_the_installation_id() {
        let (_temp, directory) = directory_with(AZ_WRITTEN.as_bytes());
        let mut profile = Profile::load(&directory).unwrap();
        assert_eq!(profile.remove_user("ALICE@contoso.com"), 2);
        let left: Vec<_> = profile
            .subscriptions()
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.is_default))
            .collect();
        assert_eq!(
            left,
            [("s2".to_string(), false)],
            "no new default is chosen"
        );
        profile.clear();
        assert_eq!(
            String::from_utf8(profile.to_bytes()).unwrap(),
            "\u{feff}{\"installationId\": \"i-1\", \"subscriptions\": [], \"futureTop\": 1}"
        );
    }

    #[test]
    fn logins_at_once_never_drop_each_others_entries() {
        let (temp, _) = directory_with(b"\xEF\xBB\xBF{\"subscriptions\": []}");
        let threads: Vec<_> = (0..16)
            .map(|index| {
                let path = temp.path().to_path_buf();
                std::thread::spawn(move || {
                    let directory = AzureConfigDir::at(&path, environment(&[]));
                    let new = [record(
                        &format!("s{index}"),
                        "S",
                        "Enabled",
                        "u",
                        "AzureCloud",
                    )];
                    merge_login_subscriptions_in(&directory, "AzureCloud", &new, None).unwrap();
                })
            })
            .collect();
        threads
            .into_iter()
            .for_each(|thread| thread.join().unwrap());
        let directory = AzureConfigDir::at(temp.path(), environment(&[]));
        let mut ids: Vec<String> = Profile::load(&directory)
            .unwrap()
            .subscriptions()
            .unwrap()
            .into_iter()
            .map(|entry| entry.id)
            .collect();
        ids.sort();
        let mut expected: Vec<String> = (0..16).map(|index| format!("s{index}")).collect();
        expected.sort();
        assert_eq!(ids, expected);
        assert!(!temp.path().join("azureProfile.json.lockfile").exists());
    }

    #[test]
    fn a_corrupt_profile_is_refused_and_left_alone() {
        let corrupt = b"\xEF\xBB\xBF{\"subscriptions\": [{\"id\": \"s1\"";
        let (temp, directory) = directory_with(corrupt);
        let error = update_profile(&directory, |profile| Ok(profile.remove_user("x"))).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("azureProfile.json is not valid JSON"),
            "{error}"
        );
        assert_eq!(
            std::fs::read(temp.path().join("azureProfile.json")).unwrap(),
            corrupt
        );
        let (temp, directory) = directory_with(b"{\"subscriptions\": [{\"id\": 1}]}");
        let error = update_profile(&directory, |profile| Ok(profile.remove_user("x"))).unwrap_err();
        assert!(
            error.to_string().contains("not in the Azure CLI's format"),
            "{error}"
        );
        assert_eq!(
            std::fs::read(temp.path().join("azureProfile.json")).unwrap(),
            b"{\"subscriptions\": [{\"id\": 1}]}"
        );
    }
}
