//! The navigation tree on the left of every page. Only pages that exist are listed: the tree
//! never links to a page that is not built.

/// A node: a link (leaf or branch) or a section heading (`href` is `None`).
#[derive(Debug, Clone)]
pub struct NavNode {
    pub label: String,
    pub href: Option<String>,
    /// The current page, or a branch that contains it.
    pub active: bool,
    pub children: Vec<NavNode>,
}

/// The static part of the tree: (section, [(label, href)]). Add a page's entry here when the
/// page exists; sections without entries are not shown.
pub const TREE: &[(&str, &[(&str, &str)])] = &[
    (
        "Datacenter",
        &[
            ("Overview", "/"),
            ("Agents", "/agents"),
            ("VMs", "/vms"),
            ("Commands", "/commands"),
        ],
    ),
    (
        "Workspace",
        &[
            ("Notes", "/notes"),
            ("Calendar", "/workspace/calendar"),
            ("Kanban", "/workspace/kanban"),
        ],
    ),
    (
        "Bots",
        &[
            ("Projects", "/projects"),
            ("Licenses", "/licenses"),
            ("Proxies", "/proxies"),
            ("Subscriptions", "/subscriptions"),
        ],
    ),
    ("Finance", &[("Finance", "/finance")]),
    (
        "Administration",
        &[
            ("Secrets", "/secrets"),
            ("Unattend profiles", "/provisioning/profiles"),
            ("Artifacts", "/artifacts"),
            ("Settings", "/settings"),
            ("Audit log", "/audit"),
        ],
    ),
];

/// Whether `path` is the page at `href` or below it.
fn under(path: &str, href: &str) -> bool {
    if href == "/" {
        return path == "/";
    }
    path == href
        || path
            .strip_prefix(href)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The tree as a page at `path` shows it.
pub fn tree(path: &str) -> Vec<NavNode> {
    TREE.iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(section, items)| {
            let children: Vec<NavNode> = items
                .iter()
                .map(|(label, href)| NavNode {
                    label: (*label).to_owned(),
                    href: Some((*href).to_owned()),
                    active: under(path, href),
                    children: Vec::new(),
                })
                .collect();
            NavNode {
                label: (*section).to_owned(),
                href: None,
                active: children.iter().any(|c| c.active),
                children,
            }
        })
        .collect()
}
