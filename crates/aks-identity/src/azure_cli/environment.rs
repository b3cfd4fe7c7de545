//! Where the Azure CLI's settings come from: environment variables, read through a trait so tests never touch
//! the process environment.

/// A source of environment variables.
pub trait Environment: Send + Sync {
    /// The value of `name`, or `None` when unset or not valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
}

impl<F> Environment for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A non-empty value of `name` (az treats an empty variable as unset).
pub(crate) fn non_empty(environment: &dyn Environment, name: &str) -> Option<String> {
    environment.var(name).filter(|value| !value.is_empty())
}

/// Python's `bool` parsing of knack settings: `1/yes/true/on` and `0/no/false/off`, any case.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}
