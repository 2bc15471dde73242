//! Object storage: a local directory by default, S3/MinIO when configured.

use crate::config::ObjectStoreConfig;
use anyhow::Context;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

#[derive(Clone)]
pub struct Objects {
    pub store: Arc<dyn ObjectStore>,
    pub kind: &'static str,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({})", self.kind)
    }
}

impl Objects {
    pub fn open(config: &ObjectStoreConfig) -> anyhow::Result<Self> {
        match config {
            ObjectStoreConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating object directory {}", root.display()))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(root)
                    .with_context(|| format!("opening object directory {}", root.display()))?;
                Ok(Self {
                    store: Arc::new(store),
                    kind: "local",
                })
            }
            ObjectStoreConfig::S3 {
                endpoint,
                region,
                bucket,
                access_key_id,
                secret_access_key,
                force_path_style,
            } => {
                let store = object_store::aws::AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_region(region)
                    .with_bucket_name(bucket)
                    .with_access_key_id(access_key_id.expose())
                    .with_secret_access_key(secret_access_key.expose())
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_virtual_hosted_style_request(!force_path_style)
                    .build()
                    .context("configuring the S3 object store")?;
                Ok(Self {
                    store: Arc::new(store),
                    kind: "s3",
                })
            }
        }
    }

    pub async fn put(&self, key: &str, data: Bytes) -> anyhow::Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(data))
            .await
            .with_context(|| format!("storing object {key}"))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> anyhow::Result<Bytes> {
        let got = self
            .store
            .get(&Path::from(key))
            .await
            .with_context(|| format!("reading object {key}"))?;
        Ok(got.bytes().await?)
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.store
            .delete(&Path::from(key))
            .await
            .with_context(|| format!("deleting object {key}"))?;
        Ok(())
    }

    /// Writes, reads back and deletes a small object: proves the store really works.
    pub async fn probe(&self) -> anyhow::Result<()> {
        let key = format!(".health/probe-{}", uuid::Uuid::new_v4());
        let payload = Bytes::from_static(b"botmox-readiness-probe");
        self.put(&key, payload.clone()).await?;
        let read = self.get(&key).await?;
        self.delete(&key).await?;
        anyhow::ensure!(read == payload, "object store returned different bytes");
        Ok(())
    }
}
