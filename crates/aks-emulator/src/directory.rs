//! The directory's people and tenants: adding users, creating tenants, inviting guests, and resolving an
//! authority's tenant segment (a tenant id, a tenant's default domain, or Entra's multi-tenant aliases
//! `organizations` and `common`) and who a user is in a tenant.
//!
//! Entra's model, kept small: every user has one home tenant; a guest (B2B) account is a separate object in the
//! inviting tenant, so the user's tokens for that tenant carry that tenant as `tid` and the guest object's id as
//! `oid`, while `client_info` keeps the home `uid.utid` (Microsoft identity platform docs:
//! <https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference>).

use serde::Deserialize;

use crate::state::{Directory, Guest, Tenant, User, new_password, random_guid};

/// The tenant an authority names (its path segment before `/oauth2/...`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Realm {
    /// One tenant, by id (an authority may name it by its default domain too).
    Tenant(String),
    /// `organizations` or `common`: any work account, signed in to its home tenant.
    AnyOrganization,
}

/// The segment of the multi-tenant authorities az and MSAL use by default.
const ANY_ORGANIZATION: &[&str] = &["organizations", "common"];

/// Who a user is in one tenant: the tenant, and the user's object id there (its own, or its guest object's).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Membership {
    /// `tid` of the tokens.
    pub tenant_id: String,
    /// `oid` of the tokens.
    pub object_id: String,
}

/// `POST /_emulator/users`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewUser {
    user_principal_name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    display_name: Option<String>,
}

/// `POST /_emulator/tenants`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct NewTenant {
    tenant_id: Option<String>,
    display_name: Option<String>,
    default_domain: Option<String>,
}

impl Directory {
    /// The tenant with this id or default domain (case-insensitive).
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|tenant| {
            tenant.tenant_id.eq_ignore_ascii_case(id_or_domain)
                || tenant.default_domain.eq_ignore_ascii_case(id_or_domain)
        })
    }

    /// The realm an authority's tenant segment names, or `None` for an unknown tenant (AADSTS90002).
    pub fn realm(&self, segment: &str) -> Option<Realm> {
        if ANY_ORGANIZATION
            .iter()
            .any(|alias| alias.eq_ignore_ascii_case(segment))
        {
            return Some(Realm::AnyOrganization);
        }
        self.tenant(segment)
            .map(|tenant| Realm::Tenant(tenant.tenant_id.clone()))
    }

    /// Who `user` is in `realm`: its home tenant for `organizations`/`common`, else the tenant where it is a
    /// member or a guest. `None` when the user has no account in that tenant (AADSTS50020).
    pub fn membership(&self, user: &User, realm: &Realm) -> Option<Membership> {
        let tenant_id = match realm {
            Realm::AnyOrganization => &user.tenant_id,
            Realm::Tenant(id) => id,
        };
        if tenant_id.eq_ignore_ascii_case(&user.tenant_id) {
            return Some(Membership {
                tenant_id: user.tenant_id.clone(),
                object_id: user.object_id.clone(),
            });
        }
        let tenant = self.tenant(tenant_id)?;
        tenant
            .guests
            .iter()
            .find(|guest| guest.home_object_id.eq_ignore_ascii_case(&user.object_id))
            .map(|guest| Membership {
                tenant_id: tenant.tenant_id.clone(),
                object_id: guest.object_id.clone(),
            })
    }

    /// Every tenant `user` can sign in to: its home tenant first, then those where it is a guest.
    pub fn tenants_of(&self, user: &User) -> Vec<&Tenant> {
        let mut tenants: Vec<&Tenant> = self
            .tenants
            .iter()
            .filter(|tenant| tenant.tenant_id.eq_ignore_ascii_case(&user.tenant_id))
            .collect();
        tenants.extend(self.tenants.iter().filter(|tenant| {
            tenant
                .guests
                .iter()
                .any(|guest| guest.home_object_id.eq_ignore_ascii_case(&user.object_id))
        }));
        tenants
    }

    /// The user (in its home tenant) behind an object id of any tenant: its own, or one of its guest objects.
    pub fn user_by_any_object_id(&self, object_id: &str) -> Option<&User> {
        self.user_by_object_id(object_id).or_else(|| {
            let home = self
                .tenants
                .iter()
                .flat_map(|tenant| tenant.guests.iter())
                .find(|guest| guest.object_id.eq_ignore_ascii_case(object_id))?;
            self.user_by_object_id(&home.home_object_id)
        })
    }

    /// Add a user; answers it and, when the password was generated, that password.
    pub fn add_user(&mut self, new: NewUser) -> Result<(User, Option<String>), String> {
        let name = new.user_principal_name.trim().to_string();
        let Some((alias, domain)) = name.split_once('@') else {
            return Err(format!(
                "userPrincipalName '{name}' is not of the form alias@domain"
            ));
        };
        if alias.is_empty() || domain.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(format!(
                "userPrincipalName '{name}' is not of the form alias@domain"
            ));
        }
        if self.user(&name).is_some() {
            return Err(format!("a user '{name}' already exists"));
        }
        let tenant_id = match new.tenant_id {
            Some(id) => self
                .tenant(&id)
                .map(|tenant| tenant.tenant_id.clone())
                .ok_or_else(|| format!("no tenant '{id}'"))?,
            None => crate::TENANT_ID.to_string(),
        };
        if let Some(unknown) = new.groups.iter().find(|id| {
            !self
                .groups
                .iter()
                .any(|group| group.object_id.eq_ignore_ascii_case(id))
        }) {
            return Err(format!("no group '{unknown}'"));
        }
        if new.password.as_deref().is_some_and(str::is_empty) {
            return Err("password must not be empty".into());
        }
        let generated = new.password.is_none().then(new_password);
        let user = User {
            display_name: new.display_name.unwrap_or_else(|| alias.to_string()),
            user_principal_name: name,
            tenant_id,
            object_id: random_guid(),
            password: new
                .password
                .or_else(|| generated.clone())
                .unwrap_or_default(),
            groups: new.groups,
        };
        self.users.push(user.clone());
        Ok((user, generated))
    }

    /// Create a tenant.
    pub fn add_tenant(&mut self, new: NewTenant) -> Result<Tenant, String> {
        let tenant_id = match new.tenant_id {
            Some(id) => uuid::Uuid::try_parse(&id)
                .map(|uuid| uuid.to_string())
                .map_err(|_| format!("tenantId '{id}' is not a GUID"))?,
            None => random_guid(),
        };
        let default_domain = new
            .default_domain
            .unwrap_or_else(|| format!("tenant-{}.emulator.local", &tenant_id[..8]));
        if default_domain.is_empty() || default_domain.contains(['/', '@', ' ']) {
            return Err(format!(
                "defaultDomain '{default_domain}' is not a domain name"
            ));
        }
        if let Some(existing) = self
            .tenant(&tenant_id)
            .or_else(|| self.tenant(&default_domain))
        {
            return Err(format!(
                "a tenant '{}' ({}) already exists",
                existing.tenant_id, existing.default_domain
            ));
        }
        let tenant = Tenant {
            display_name: new.display_name.unwrap_or_else(|| default_domain.clone()),
            tenant_id,
            default_domain,
            guests: Vec::new(),
        };
        self.tenants.push(tenant.clone());
        Ok(tenant)
    }

    /// Invite `user_principal_name` as a guest of tenant `tenant`; answers the guest object's id (the same one
    /// when it is already a guest there).
    pub fn add_guest(&mut self, tenant: &str, user_principal_name: &str) -> Result<String, String> {
        let user = self
            .user(user_principal_name)
            .cloned()
            .ok_or_else(|| format!("no user '{user_principal_name}' in the directory"))?;
        let realm = match self.realm(tenant) {
            Some(Realm::Tenant(id)) => Realm::Tenant(id),
            _ => return Err(format!("no tenant '{tenant}'")),
        };
        if let Some(membership) = self.membership(&user, &realm) {
            return Ok(membership.object_id);
        }
        let Realm::Tenant(tenant_id) = realm else {
            return Err(format!("no tenant '{tenant}'"));
        };
        let object_id = random_guid();
        if let Some(tenant) = self
            .tenants
            .iter_mut()
            .find(|candidate| candidate.tenant_id == tenant_id)
        {
            tenant.guests.push(Guest {
                home_object_id: user.object_id,
                object_id: object_id.clone(),
            });
        }
        Ok(object_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TENANT_ID;

    fn directory() -> Directory {
        let mut directory: Directory = serde_json::from_value(serde_json::json!({
            "service_principals": [], "groups": [], "users": [],
            "tenants": [{"tenant_id": TENANT_ID, "display_name": "Home", "default_domain": "emulator.local"}],
        }))
        .unwrap();
        directory
            .add_user(NewUser {
                user_principal_name: "dev@emulator.local".into(),
                password: Some("p".into()),
                tenant_id: None,
                groups: Vec::new(),
                display_name: None,
            })
            .unwrap();
        directory
    }

    #[test]
    fn authorities_name_a_tenant_by_id_or_domain_or_any_organization() {
        let directory = directory();
        let home = Some(Realm::Tenant(TENANT_ID.into()));
        assert_eq!(directory.realm(TENANT_ID), home);
        assert_eq!(directory.realm(&TENANT_ID.to_uppercase()), home);
        assert_eq!(directory.realm("Emulator.Local"), home);
        assert_eq!(
            directory.realm("organizations"),
            Some(Realm::AnyOrganization)
        );
        assert_eq!(directory.realm("COMMON"), Some(Realm::AnyOrganization));
        assert_eq!(directory.realm("consumers"), None);
        assert_eq!(directory.realm("other.example"), None);
    }

    #[test]
    fn a_guest_is_a_member_of_the_inviting_tenant_under_its_own_object_id() {
        let mut directory = directory();
        let tenant = directory
            .add_tenant(NewTenant {
                tenant_id: None,
                display_name: None,
                default_domain: Some("partner.example".into()),
            })
            .unwrap();
        let user = directory.user("dev@emulator.local").unwrap().clone();
        let partner = Realm::Tenant(tenant.tenant_id.clone());
        assert_eq!(directory.membership(&user, &partner), None);
        let guest = directory
            .add_guest("partner.example", "DEV@emulator.local")
            .unwrap();
        assert_eq!(
            directory.add_guest(&tenant.tenant_id, "dev@emulator.local"),
            Ok(guest.clone()),
            "inviting twice keeps one guest object"
        );
        assert_eq!(
            directory.membership(&user, &partner),
            Some(Membership {
                tenant_id: tenant.tenant_id.clone(),
                object_id: guest.clone()
            })
        );
        assert_eq!(
            directory
                .membership(&user, &Realm::AnyOrganization)
                .map(|member| member.tenant_id),
            Some(TENANT_ID.to_string())
        );
        assert_eq!(
            directory
                .user_by_any_object_id(&guest)
                .map(|found| found.object_id.clone()),
            Some(user.object_id.clone())
        );
        let reachable: Vec<&str> = directory
            .tenants_of(&user)
            .iter()
            .map(|tenant| tenant.default_domain.as_str())
            .collect();
        assert_eq!(reachable, ["emulator.local", "partner.example"]);
        assert!(
            directory
                .add_guest("nowhere.example", "dev@emulator.local")
                .is_err()
        );
    }

    #[test]
    fn bad_users_and_tenants_are_refused_naming_the_value() {
        let mut directory = directory();
        let user = |name: &str| NewUser {
            user_principal_name: name.into(),
            password: None,
            tenant_id: None,
            groups: Vec::new(),
            display_name: None,
        };
        for (name, expected) in [
            (
                "dev@emulator.local",
                "a user 'dev@emulator.local' already exists",
            ),
            (
                "@emulator.local",
                "userPrincipalName '@emulator.local' is not of the form alias@domain",
            ),
            (
                "a b@emulator.local",
                "userPrincipalName 'a b@emulator.local' is not of the form alias@domain",
            ),
        ] {
            assert_eq!(
                directory.add_user(user(name)).err().as_deref(),
                Some(expected)
            );
        }
        let (added, password) = directory.add_user(user("new@emulator.local")).unwrap();
        assert_eq!(password.as_deref(), Some(added.password.as_str()));
        assert_eq!(added.display_name, "new");
        let tenant = |id: Option<&str>, domain: Option<&str>| NewTenant {
            tenant_id: id.map(str::to_string),
            display_name: None,
            default_domain: domain.map(str::to_string),
        };
        assert_eq!(
            directory
                .add_tenant(tenant(Some("not-a-guid"), None))
                .err()
                .as_deref(),
            Some("tenantId 'not-a-guid' is not a GUID")
        );
        assert!(directory.add_tenant(tenant(Some(TENANT_ID), None)).is_err());
        assert!(
            directory
                .add_tenant(tenant(None, Some("EMULATOR.local")))
                .is_err()
        );
        assert!(directory.add_tenant(tenant(None, Some("a/b"))).is_err());
    }
}
