//! Playbooks: YAML documents describing what a freshly provisioned VM runs.

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MAX_CONTENT_CHARS: usize = 65_536;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Playbook {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub content: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct PlaybookCreateRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub name: String,
    #[garde(skip)]
    #[serde(default)]
    pub is_default: Option<bool>,
    #[garde(custom(crate::validation::not_blank), length(chars, max = MAX_CONTENT_CHARS))]
    pub content: String,
}

/// Every field optional, at least one required.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[garde(allow_unvalidated)]
pub struct PlaybookUpdateRequest {
    #[garde(inner(custom(crate::validation::not_blank), length(max = 200)))]
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_default: Option<bool>,
    #[garde(inner(custom(crate::validation::not_blank), length(chars, max = MAX_CONTENT_CHARS)))]
    #[serde(default)]
    pub content: Option<String>,
}

impl PlaybookUpdateRequest {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.is_default.is_none() && self.content.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct PlaybookValidateRequest {
    #[garde(length(chars, max = MAX_CONTENT_CHARS))]
    pub content: String,
}

/// One finding of the playbook checker; `path` points into the document
/// (`roles[2]`, `steps[0].type`, `[1].name` for the second play of a list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlaybookIssue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlaybookValidation {
    pub valid: bool,
    pub errors: Vec<PlaybookIssue>,
    pub warnings: Vec<PlaybookIssue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlaybookDeleted {
    pub id: String,
    pub deleted: bool,
}
