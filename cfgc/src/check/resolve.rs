//! Pass 2: route tables (one per block kind, §3.7) and duplicates.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast::{self, BlockKind, Item};

/// Named blocks of one kind: name → span of the block's name.
pub type RouteTable = BTreeMap<String, Span>;

/// Every routing block of the file, by table.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    /// `route[NAME]` blocks; the main request route is the entry `"0"`
    /// (from `request_route`, unnamed `route` or `route[0]`).
    pub request: RouteTable,
    pub failure: RouteTable,
    pub branch: RouteTable,
    /// Named `onreply_route[NAME]` blocks (run by tm).
    pub onreply: RouteTable,
    /// `event_route[NAME]` blocks.
    pub event: RouteTable,
    /// Whether there is a core reply route (`reply_route`, unnamed
    /// `onreply_route` or `onreply_route[0]`).
    pub core_reply: bool,
    /// Whether there is an `onsend_route`.
    pub onsend: bool,
}

impl Routes {
    pub fn has_main(&self) -> bool {
        self.request.contains_key("0")
    }
}

/// The name of the main request route, as Kamailio registers it.
pub(super) const MAIN: &str = "0";

/// Which table a block goes to, and under which name. `None` for blocks that
/// concatenate (unnamed main/reply/onsend routes).
pub(super) fn block_key(b: &ast::RouteBlock) -> (BlockKind, Option<String>) {
    let name = b.name.as_ref().map(|n| n.text.clone());
    match b.kind {
        BlockKind::Route | BlockKind::RequestRoute => {
            (BlockKind::Route, Some(name.unwrap_or_else(|| MAIN.into())))
        }
        BlockKind::OnreplyRoute | BlockKind::ReplyRoute => match name {
            Some(n) if n != "0" => (BlockKind::OnreplyRoute, Some(n)),
            _ => (BlockKind::ReplyRoute, None),
        },
        k => (k, name),
    }
}

pub(super) fn build_routes(file: &ast::File, diags: &mut Vec<Diagnostic>) -> Routes {
    let mut routes = Routes::default();
    // Unnamed main routes concatenate: remember them apart from named ones.
    let mut main_unnamed: Option<Span> = None;
    let mut main_named: Option<Span> = None;
    for item in &file.items {
        let Item::Route(b) = item else { continue };
        let (kind, name) = block_key(b);
        let label_span = b.name.as_ref().map_or(b.span, |n| n.span);
        match (kind, name) {
            (BlockKind::Route, Some(name)) if name == MAIN => {
                // `request_route`, `route {}` and `route[0]` all feed the
                // main route. Unnamed ones concatenate; `route[0]` (or a
                // second `route[0]`) is a duplicate of anything else.
                let explicit = b.name.is_some();
                let previous = if explicit {
                    main_named.or(main_unnamed)
                } else {
                    main_named
                };
                if let Some(prev) = previous {
                    diags.push(duplicate("main request route", label_span, prev).with_note(
                        "`route[0]` is the main request route, the same as `request_route`",
                    ));
                }
                if explicit {
                    main_named.get_or_insert(label_span);
                } else {
                    main_unnamed.get_or_insert(label_span);
                }
                routes.request.entry(MAIN.into()).or_insert(label_span);
            }
            (BlockKind::ReplyRoute, _) => routes.core_reply = true,
            (BlockKind::OnsendRoute, _) => routes.onsend = true,
            (kind, Some(name)) => {
                let (table, what) = match kind {
                    BlockKind::Route => (&mut routes.request, "route"),
                    BlockKind::FailureRoute => (&mut routes.failure, "failure_route"),
                    BlockKind::BranchRoute => (&mut routes.branch, "branch_route"),
                    BlockKind::OnreplyRoute => (&mut routes.onreply, "onreply_route"),
                    _ => (&mut routes.event, "event_route"),
                };
                if let Some(prev) = table.get(&name) {
                    diags.push(duplicate(&format!("`{what}[{name}]`"), label_span, *prev));
                } else {
                    table.insert(name, label_span);
                }
            }
            // Unnamed failure/branch routes are accepted and never run.
            (_, None) => {}
        }
    }
    routes
}

fn duplicate(what: &str, span: Span, prev: Span) -> Diagnostic {
    Diagnostic::error(
        "duplicate-route",
        format!("{what} is defined more than once"),
    )
    .with_label(span, "defined again here")
    .with_label(prev, "first defined here")
}
