//! A path `{id}` checked before the body is read, so a malformed id gets its domain's
//! `*_INVALID_ID` code whatever else is wrong with the request.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use botmox_contract::rules::is_valid_id;
use std::marker::PhantomData;

/// Names the error code of a domain's invalid ids.
pub trait IdCode: Send + Sync + 'static {
    const CODE: &'static str;
}

/// The single path parameter of a route, a well-formed entity id.
pub struct PathId<C: IdCode>(pub String, PhantomData<C>);

impl<C: IdCode> PathId<C> {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<C: IdCode> std::ops::Deref for PathId<C> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync, C: IdCode> FromRequestParts<S> for PathId<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::bad_request(C::CODE, "Invalid id in the path");
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        if is_valid_id(&id) {
            Ok(PathId(id, PhantomData))
        } else {
            Err(invalid())
        }
    }
}
