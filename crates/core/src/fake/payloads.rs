//! [`FakePayloads`]: an in-memory S3 for `payloadS3`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::ports::{PayloadSource, PayloadSourceError};

/// A stored object, or the error reading it gives.
type ObjectBody = Result<Vec<u8>, PayloadSourceError>;

/// An in-memory S3 for `payloadS3`.
#[derive(Debug, Clone, Default)]
pub struct FakePayloads {
    objects: Arc<Mutex<BTreeMap<(String, String), ObjectBody>>>,
    fetches: Arc<AtomicU64>,
}

impl FakePayloads {
    /// Stores an object (or an error to return for it).
    pub fn put(&self, bucket: &str, key: &str, body: Result<Vec<u8>, PayloadSourceError>) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert((bucket.to_string(), key.to_string()), body);
        }
    }

    /// GetObject calls so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl PayloadSource for FakePayloads {
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PayloadSourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.objects
            .lock()
            .map_err(|_| PayloadSourceError::Other("poisoned".to_string()))?
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .unwrap_or(Err(PayloadSourceError::NotFound))
    }
}
