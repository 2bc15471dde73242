//! Object storage: a local directory by default, S3/MinIO when configured.

use crate::config::ObjectStoreConfig;
use anyhow::Context;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use std::sync::Arc;
use std::time::Duration;

/// Parts of a streamed upload; S3 needs at least 5 MiB for every part but the last.
const UPLOAD_PART_BYTES: usize = 5 * 1024 * 1024;

#[derive(Clone)]
pub struct Objects {
    pub store: Arc<dyn ObjectStore>,
    pub kind: &'static str,
    /// The same store, typed, when it is S3: it can presign URLs.
    s3: Option<Arc<AmazonS3>>,
}

/// An object being read: its size and its bytes as they arrive.
pub struct ObjectStream {
    pub size: u64,
    pub bytes: BoxStream<'static, object_store::Result<Bytes>>,
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
                    s3: None,
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
                let s3 = Arc::new(store);
                Ok(Self {
                    store: s3.clone(),
                    kind: "s3",
                    s3: Some(s3),
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

    /// Whether URLs can be presigned (S3) or must be served by this server (local).
    pub fn can_presign(&self) -> bool {
        self.s3.is_some()
    }

    /// A presigned GET URL valid for `ttl`; `None` when the store is not S3.
    pub async fn presign_get(&self, key: &str, ttl: Duration) -> anyhow::Result<Option<String>> {
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let url = s3
            .signed_url(http::Method::GET, &Path::from(key), ttl)
            .await
            .with_context(|| format!("presigning object {key}"))?;
        Ok(Some(url.to_string()))
    }

    /// Starts a streamed upload in parts; nothing is visible at `key` until `finish`.
    pub async fn upload(&self, key: &str) -> anyhow::Result<WriteMultipart> {
        let upload = self
            .store
            .put_multipart(&Path::from(key))
            .await
            .with_context(|| format!("starting upload of object {key}"))?;
        Ok(WriteMultipart::new_with_chunk_size(
            upload,
            UPLOAD_PART_BYTES,
        ))
    }

    /// Opens an object for streaming; `None` when it does not exist.
    pub async fn open_read(&self, key: &str) -> anyhow::Result<Option<ObjectStream>> {
        match self.store.get(&Path::from(key)).await {
            Ok(got) => Ok(Some(ObjectStream {
                size: got.meta.size,
                bytes: got.into_stream(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(anyhow::Error::new(err).context(format!("reading object {key}"))),
        }
    }

    /// Whether an object exists at `key`.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&Path::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(anyhow::Error::new(err).context(format!("looking up object {key}"))),
        }
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete_if_exists(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(anyhow::Error::new(err).context(format!("deleting object {key}"))),
        }
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
