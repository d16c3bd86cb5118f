//! Module parameters (`modparam("tm", "fr_timer", 30000)`) as the cfg gave
//! them; each module reads and validates its own at start-up.

/// One parameter value: the vocabulary's (an int, a string, or a list the
/// compiler resolved).
pub use cfgc_vocab::ModParamValue as ParamValue;

/// Why a module refused its parameters at start-up (Kamailio refuses to
/// start then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// An int parameter whose string value is not a number.
    NotANumber {
        module: String,
        name: String,
        value: String,
    },
    /// A value the module rejects (out of range, unknown name...).
    Invalid {
        module: String,
        name: String,
        why: String,
    },
    /// A parameter (or value) for something the runtime cannot do yet.
    Unsupported {
        module: String,
        name: String,
        what: String,
    },
    /// Two things registered under one name (RPC commands, PVs).
    Duplicate { what: &'static str, name: String },
}

impl ParamError {
    /// A rejected value of `modparam(module, name, ...)`.
    pub fn invalid(module: &str, name: &str, why: impl Into<String>) -> Self {
        Self::Invalid {
            module: module.to_string(),
            name: name.to_string(),
            why: why.into(),
        }
    }

    /// `modparam(module, name, ...)` asks for `what`, not implemented.
    pub fn unsupported(module: &str, name: &str, what: impl Into<String>) -> Self {
        Self::Unsupported {
            module: module.to_string(),
            name: name.to_string(),
            what: what.into(),
        }
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotANumber {
                module,
                name,
                value,
            } => write!(
                f,
                "modparam(\"{module}\", \"{name}\"): `{value}` is not a number"
            ),
            Self::Invalid { module, name, why } => {
                write!(f, "modparam(\"{module}\", \"{name}\"): {why}")
            }
            Self::Unsupported { module, name, what } if what.is_empty() => {
                write!(f, "modparam(\"{module}\", \"{name}\") is not supported yet")
            }
            Self::Unsupported { module, name, what } => write!(
                f,
                "modparam(\"{module}\", \"{name}\"): {what} is not supported by cfgc's runtime yet"
            ),
            Self::Duplicate { what, name } => write!(f, "{what} `{name}` registered twice"),
        }
    }
}

impl std::error::Error for ParamError {}

/// Every `modparam` line, in cfg order (some parameters repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModParams {
    entries: Vec<(String, String, ParamValue)>,
}

impl ModParams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one `modparam(module, name, value)`.
    pub fn push(&mut self, module: &str, name: &str, value: ParamValue) {
        self.entries
            .push((module.to_string(), name.to_string(), value));
    }

    /// Every value given to `module`'s `name`, in order.
    pub fn all<'a>(
        &'a self,
        module: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ParamValue> {
        #[cfg(test)]
        reads::record(module, name);
        self.entries
            .iter()
            .filter(move |(m, n, _)| m == module && n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v)
    }

    /// The values given to any of `module`'s `names`, with the name, in
    /// the cfg's order (for parameters whose meaning depends on the ones
    /// before: rtimer's `default_interval`, `timer`, `exec`).
    pub fn in_order<'a>(
        &'a self,
        module: &'a str,
        names: &'a [&'a str],
    ) -> impl Iterator<Item = (&'a str, &'a ParamValue)> {
        #[cfg(test)]
        for n in names {
            reads::record(module, n);
        }
        self.entries.iter().filter_map(move |(m, n, v)| {
            let name = names.iter().find(|w| n.eq_ignore_ascii_case(w))?;
            (m == module).then_some((*name, v))
        })
    }

    /// The last value given (Kamailio: a later `modparam` overrides).
    pub fn get(&self, module: &str, name: &str) -> Option<&ParamValue> {
        #[cfg(test)]
        reads::record(module, name);
        self.entries
            .iter()
            .rev()
            .find(|(m, n, _)| m == module && n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v)
    }

    /// An int parameter; a string that holds a number counts (Kamailio
    /// converts `"10"` for int parameters).
    ///
    /// # Errors
    /// A value that is not a number.
    pub fn int(&self, module: &str, name: &str) -> Result<Option<i32>, ParamError> {
        match self.get(module, name) {
            None => Ok(None),
            Some(ParamValue::Int(n)) => Ok(Some(*n)),
            Some(ParamValue::Str(s)) => {
                s.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ParamError::NotANumber {
                        module: module.to_string(),
                        name: name.to_string(),
                        value: s.clone(),
                    })
            }
            Some(ParamValue::PvList(_)) => Err(ParamError::invalid(
                module,
                name,
                "a list where a number is expected",
            )),
        }
    }

    /// A string parameter (an int is rendered in decimal).
    pub fn str(&self, module: &str, name: &str) -> Option<String> {
        self.get(module, name).map(|v| match v {
            ParamValue::Int(n) => n.to_string(),
            ParamValue::Str(s) => s.clone(),
            ParamValue::PvList(l) => l
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        })
    }

    /// Every parameter of `module`, in order.
    pub fn of<'a>(&'a self, module: &'a str) -> impl Iterator<Item = (&'a str, &'a ParamValue)> {
        #[cfg(test)]
        reads::record(module, "*");
        self.entries
            .iter()
            .filter(move |(m, _, _)| m == module)
            .map(|(_, n, v)| (n.as_str(), v))
    }
}

impl ModParams {
    /// Refuses what the runtime cannot do: a parameter of a module it does
    /// not implement, one it neither reads nor ignores harmlessly, or a
    /// value other than a no-op one (`cfgc_vocab::MODULES`, the table the
    /// compiler refuses the same cfgs with at build; this is the backstop
    /// for callers that build their `ModParams` by hand).
    ///
    /// # Errors
    /// The first such parameter.
    pub fn check_supported(&self) -> Result<(), ParamError> {
        use cfgc_vocab::ParamSupport;
        for (module, name, value) in &self.entries {
            match cfgc_vocab::modparam_support(module, name) {
                None => {
                    return Err(ParamError::unsupported(
                        module,
                        name,
                        format!("the module `{module}`"),
                    ));
                }
                Some(s) if s.accepts(value) => {}
                Some(ParamSupport::NoOpIf(..)) => {
                    return Err(ParamError::unsupported(module, name, "this value"));
                }
                Some(_) => return Err(ParamError::unsupported(module, name, "")),
            }
        }
        Ok(())
    }
}

/// Test instrumentation: every (module, parameter) a module looks up, so
/// a test can compare what the runtime reads with the vocabulary's table.
#[cfg(test)]
pub(crate) mod reads {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static READS: RefCell<Option<BTreeSet<(String, String)>>> = const { RefCell::new(None) };
    }

    pub(crate) fn record(module: &str, name: &str) {
        READS.with(|r| {
            if let Some(set) = r.borrow_mut().as_mut() {
                set.insert((module.to_string(), name.to_string()));
            }
        });
    }

    /// Runs `f`, returning every parameter looked up on this thread.
    pub(crate) fn during(f: impl FnOnce()) -> BTreeSet<(String, String)> {
        READS.with(|r| *r.borrow_mut() = Some(BTreeSet::new()));
        f();
        READS.with(|r| r.borrow_mut().take().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins_and_strings_convert() {
        let mut p = ModParams::new();
        p.push("tm", "fr_timer", ParamValue::Int(1000));
        p.push("tm", "fr_timer", ParamValue::Str("2000".into()));
        p.push("tm", "bad", ParamValue::Str("x".into()));
        assert_eq!(p.int("tm", "fr_timer"), Ok(Some(2000)));
        assert_eq!(p.all("tm", "fr_timer").count(), 2);
        assert_eq!(p.int("tm", "missing"), Ok(None));
        assert_eq!(
            p.int("tm", "bad").map_err(|e| e.to_string()),
            Err("modparam(\"tm\", \"bad\"): `x` is not a number".to_string())
        );
        assert_eq!(p.str("tm", "fr_timer").as_deref(), Some("2000"));
        assert_eq!(p.of("tm").count(), 3);
        assert_eq!(p.of("rr").count(), 0);
    }
}
