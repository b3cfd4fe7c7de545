//! az 2.91's subscription picker after an interactive `az login` on a terminal (docs/login.md, "The
//! subscription picker"; Azure/azure-cli: `src/azure-cli/azure/cli/command_modules/profile/_subscription_selector.py`
//! and `custom.py` `login`, `_select_and_set_active`): the login's accounts as a table sorted by name, the default
//! marked, a prompt for a number (Enter keeps the default), then the announcement instead of the JSON list.
//!
//! The texts are az's, word for word, so that a person (or a script driving a terminal) sees the same screen.

use aks_identity::azure_cli::profile::SubscriptionRecord;

/// Printed on stdout after the sign-in, before the subscriptions are listed (`_profile.py` `Profile.login`,
/// `show_progress`), without `--tenant` …
pub(super) const RETRIEVING_TENANTS: &str =
    "Retrieving tenants and subscriptions for the selection...";
/// … and with it.
pub(super) const RETRIEVING_SUBSCRIPTIONS: &str = "Retrieving subscriptions for the selection...";

/// The question, asked until the answer is empty or a row's number.
pub(super) const PROMPT: &str =
    "Select a subscription and tenant (Type a number or Enter for no changes): ";

/// The warning after an answer that is neither.
pub(super) const INVALID: &str = "Invalid selection.";

/// Printed on stdout once the default is set (`custom.py` `LOGIN_ANNOUNCEMENT`, then Python's `print` newline).
pub(super) const ANNOUNCEMENT: &str = "[Announcements]\nWith the new Azure CLI login experience, you can select the subscription you want to use more easily. Learn more about it and its configuration at https://go.microsoft.com/fwlink/?linkid=2271236\n\nIf you encounter any problem, please open an issue at https://aka.ms/azclibug\n\n";

/// The warning that ends the picker (`custom.py` `LOGIN_OUTPUT_WARNING`).
pub(super) const OUTPUT_WARNING: &str = "[Warning] The login output has been updated. Please be aware that it no longer displays the full list of available subscriptions by default.\n";

/// The marker after the default row's number.
const DEFAULT_MARKER: &str = "*";

/// Longer names are cut to 33 characters and `...`.
const NAME_LIMIT: usize = 36;

/// az's `Style.HIGHLIGHT` in its default (dark) theme, and the reset after it (`azure/cli/core/style.py`).
const HIGHLIGHT: &str = "\x1b[96m";
const RESET: &str = "\x1b[0m";

/// The login's accounts, sorted as the picker numbers them.
pub(super) struct Picker {
    rows: Vec<SubscriptionRecord>,
}

/// What an answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// Enter: keep the default.
    Keep,
    /// The row with this index (0-based).
    Row(usize),
    /// Anything else: ask again.
    Invalid,
}

/// The tenant column: the tenant's display name, else its id.
fn tenant(record: &SubscriptionRecord) -> &str {
    record
        .extra
        .get("tenantDisplayName")
        .and_then(|name| name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(&record.tenant_id)
}

impl Picker {
    /// The picker over `records` (the login's entries as merged into the profile, one of them the default),
    /// sorted by lower-cased name as az sorts them (a stable sort: equal names keep their order).
    pub(super) fn new(records: Vec<SubscriptionRecord>) -> Picker {
        let mut rows = records;
        rows.sort_by_key(|record| record.name.to_lowercase());
        Picker { rows }
    }

    /// The default row (the first row when none is marked, which a merged login never leaves).
    pub(super) fn default_row(&self) -> &SubscriptionRecord {
        self.rows
            .iter()
            .find(|record| record.is_default)
            .unwrap_or(&self.rows[0])
    }

    /// The row an answer picked.
    pub(super) fn row(&self, index: usize) -> &SubscriptionRecord {
        &self.rows[index]
    }

    /// The table (tabulate's "simple" format), the default row highlighted when `color`.
    pub(super) fn table(&self, color: bool) -> String {
        let headers = ["No", "Subscription name", "Subscription ID", "Tenant"].map(String::from);
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .enumerate()
            .map(|(index, record)| {
                let highlight = |text: &str| {
                    if record.is_default && color {
                        format!("{HIGHLIGHT}{text}{RESET}")
                    } else {
                        text.to_string()
                    }
                };
                let mut number = highlight(&format!("[{}]", index + 1));
                if record.is_default {
                    number.push_str(&format!(" {DEFAULT_MARKER}"));
                }
                vec![
                    number,
                    highlight(&shortened(&record.name)),
                    highlight(&record.id),
                    highlight(tenant(record)),
                ]
            })
            .collect();
        crate::output::render_table(&headers, &rows)
    }

    /// Everything printed before the first question: the heading, the table and the default.
    pub(super) fn introduction(&self, color: bool) -> String {
        let default = self.default_row();
        format!(
            "\n[Tenant and subscription selection]\n\n{}\nThe default is marked with an {DEFAULT_MARKER}; the default tenant is '{}' and subscription is '{}' ({}).\n\n",
            self.table(color),
            tenant(default),
            default.name,
            default.id
        )
    }

    /// What `answer` (a typed line) means.
    pub(super) fn answer(&self, answer: &str) -> Answer {
        if answer.is_empty() {
            return Answer::Keep;
        }
        // az compares the text with '1', '2', …: no spaces, signs or leading zeros.
        match answer.parse::<usize>() {
            Ok(number)
                if number >= 1 && number <= self.rows.len() && number.to_string() == answer =>
            {
                Answer::Row(number - 1)
            }
            _ => Answer::Invalid,
        }
    }

    /// The echo of the choice.
    pub(super) fn echo(selected: &SubscriptionRecord) -> String {
        format!(
            "\nTenant: {}\nSubscription: {} ({})\n\n",
            tenant(selected),
            selected.name,
            selected.id
        )
    }
}

/// A name cut to [`NAME_LIMIT`] characters, the last three `...`.
fn shortened(name: &str) -> String {
    if name.chars().count() > NAME_LIMIT {
        let kept: String = name.chars().take(NAME_LIMIT - 3).collect();
        format!("{kept}...")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aks_identity::azure_cli::profile::{ProfileUser, UserKind};
    use serde_json::{Map, json};

    fn record(
        id: &str,
        name: &str,
        tenant: (&str, Option<&str>),
        default: bool,
    ) -> SubscriptionRecord {
        let mut extra = Map::new();
        if let Some(display) = tenant.1 {
            extra.insert("tenantDisplayName".into(), json!(display));
        }
        SubscriptionRecord {
            id: id.into(),
            name: name.into(),
            state: "Enabled".into(),
            user: ProfileUser {
                name: "admin@emulator.local".into(),
                kind: UserKind::User,
                extra: Map::new(),
            },
            is_default: default,
            tenant_id: tenant.0.into(),
            environment_name: "AzureCloud".into(),
            extra,
        }
    }

    fn picker() -> Picker {
        Picker::new(vec![
            record("s-b", "beta", ("t1", Some("Contoso")), false),
            record("s-a", "Alpha", ("t2", None), true),
            record(
                "s-c",
                "a name that is longer than thirty-six characters",
                ("t1", Some("")),
                false,
            ),
        ])
    }

    #[test]
    fn the_table_is_sorted_by_name_and_marks_the_default() {
        // As az 2.91's SubscriptionSelector prints it without colour (tabulate "simple").
        assert_eq!(
            picker().table(false),
            "No     Subscription name                     Subscription ID    Tenant\n\
             -----  ------------------------------------  -----------------  --------\n\
             [1]    a name that is longer than thirty...  s-c                t1\n\
             [2] *  Alpha                                 s-a                t2\n\
             [3]    beta                                  s-b                Contoso\n"
        );
    }

    #[test]
    fn colour_highlights_the_default_row_without_widening_the_columns() {
        let picker = picker();
        let plain = picker.table(false);
        let coloured = picker.table(true);
        assert!(coloured.contains("\x1b[96m[2]\x1b[0m *  \x1b[96mAlpha\x1b[0m"));
        assert_eq!(coloured.replace(HIGHLIGHT, "").replace(RESET, ""), plain);
    }

    #[test]
    fn answers_are_a_row_number_or_enter() {
        let picker = picker();
        assert_eq!(picker.answer(""), Answer::Keep);
        assert_eq!(picker.answer("1"), Answer::Row(0));
        assert_eq!(picker.answer("3"), Answer::Row(2));
        for invalid in ["0", "4", "01", "+1", " 1", "one", "-1"] {
            assert_eq!(picker.answer(invalid), Answer::Invalid, "{invalid:?}");
        }
    }

    #[test]
    fn the_introduction_and_echo_name_the_tenant_and_subscription() {
        let picker = picker();
        let text = picker.introduction(false);
        assert!(text.starts_with("\n[Tenant and subscription selection]\n\nNo "));
        assert!(text.ends_with(
            "\nThe default is marked with an *; the default tenant is 't2' and subscription is 'Alpha' (s-a).\n\n"
        ));
        assert_eq!(
            Picker::echo(picker.row(2)),
            "\nTenant: Contoso\nSubscription: beta (s-b)\n\n"
        );
    }
}
