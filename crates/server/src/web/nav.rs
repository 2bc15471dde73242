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

/// Pages only admins may open: not listed for anyone else.
const ADMIN_ONLY: &[&str] = &["/audit"];

/// The tree as a page at `path` shows it to a caller who is (or is not) an admin.
pub fn tree(path: &str, admin: bool) -> Vec<NavNode> {
    TREE.iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(section, items)| {
            let children: Vec<NavNode> = items
                .iter()
                .filter(|(_, href)| admin || !ADMIN_ONLY.contains(href))
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

#[cfg(test)]
mod tests {
    use super::tree;

    fn hrefs(admin: bool) -> Vec<String> {
        tree("/audit", admin)
            .into_iter()
            .flat_map(|s| s.children)
            .filter_map(|c| c.href)
            .collect()
    }

    #[test]
    fn admin_pages_are_listed_for_admins_only() {
        assert!(hrefs(true).iter().any(|h| h == "/audit"));
        assert!(!hrefs(false).iter().any(|h| h == "/audit"));
        assert!(hrefs(false).iter().any(|h| h == "/secrets"));
    }
}
