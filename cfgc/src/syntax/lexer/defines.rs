//! The define table of the preprocessor (`#!define` and its variants, `-A`).

use std::collections::BTreeMap;
use std::rc::Rc;

/// How a define directive treats an existing name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DefKind {
    /// `#!define`: an existing name is an error.
    Define,
    /// `#!trydefine`: an existing name is kept, silently.
    Try,
    /// `#!redefine`: an existing name gets the new value.
    Redefine,
}

/// Result of registering a define.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DefOutcome {
    Added,
    Ignored,
    Redefined,
}

/// The define table: name → raw value (`None`: defined without a value).
#[derive(Default, Debug)]
pub(super) struct Defines {
    map: BTreeMap<String, Option<Rc<str>>>,
}

impl Defines {
    pub(super) fn get(&self, name: &str) -> Option<&Option<Rc<str>>> {
        self.map.get(name)
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Registers `name`; a value of `Some("")` counts as no value (as
    /// Kamailio's `pp_define_set` ignores empty values).
    pub(super) fn set(&mut self, kind: DefKind, name: &str, value: Option<String>) -> DefOutcome {
        let value = value.filter(|v| !v.is_empty()).map(Rc::from);
        match (self.map.contains_key(name), kind) {
            (true, DefKind::Try) => DefOutcome::Ignored,
            (true, DefKind::Define) => DefOutcome::Redefined,
            (true, DefKind::Redefine) => {
                self.map.insert(name.to_string(), value);
                DefOutcome::Added
            }
            (false, _) => {
                self.map.insert(name.to_string(), value);
                DefOutcome::Added
            }
        }
    }

    pub(super) fn export(&self) -> BTreeMap<String, Option<String>> {
        self.map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_deref().map(str::to_string)))
            .collect()
    }
}
