//! One function's state — `$LATEST`, its published versions and aliases — with Lambda's rules
//! for changing it (API reference of each operation; the error messages are Lambda's).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::logging::Logging;
use super::refusal::Refusal;
use super::spec::{Architecture, FunctionSpec};
use crate::ids::new_id;

/// A published (or `$LATEST`) configuration: what an execution environment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Memory size (MB).
    pub memory: u32,
    /// Timeout (s).
    pub timeout: u32,
    /// Description.
    pub description: String,
    /// Architecture.
    pub architecture: Architecture,
    /// `LoggingConfig`.
    pub logging: Logging,
    /// Executable.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
}

impl Snapshot {
    /// `CodeSize`: the bytes of its code (0 when it cannot be read).
    pub fn code_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// Whether two configurations would publish the same version (code and settings).
    pub fn same_as(&self, other: &Snapshot) -> bool {
        self == other
    }
}

/// An alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The version it points at.
    pub version: u64,
    /// Description.
    pub description: String,
    /// Revision id.
    pub revision: String,
}

/// A change of `$LATEST`'s configuration (`UpdateFunctionConfiguration`); `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigChange {
    /// `MemorySize`, as sent.
    pub memory: Option<serde_json::Value>,
    /// `Timeout`, as sent.
    pub timeout: Option<serde_json::Value>,
    /// `Description`, as sent.
    pub description: Option<serde_json::Value>,
    /// `Environment.Variables`.
    pub environment: Option<BTreeMap<String, String>>,
    /// `LoggingConfig`, as sent.
    pub logging: Option<serde_json::Value>,
    /// `RevisionId`: apply only to `$LATEST` at this revision.
    pub revision: Option<String>,
}

/// One function's state, with Lambda's rules for changing it.
#[derive(Debug, Clone)]
pub struct Function {
    /// Name.
    pub name: String,
    /// Unqualified ARN.
    pub arn: String,
    /// `$LATEST`.
    pub latest: Snapshot,
    /// Bumped by every configuration update (new environments afterwards).
    pub latest_revision: u64,
    /// `$LATEST` is `InProgress` until then.
    pub update_done_at: Instant,
    /// When `$LATEST` last changed.
    pub last_modified: SystemTime,
    /// Published versions.
    pub versions: BTreeMap<u64, (Snapshot, SystemTime)>,
    /// Next version number (never reused).
    pub next_version: u64,
    /// Aliases.
    pub aliases: BTreeMap<String, Alias>,
    /// `RevisionId` of `$LATEST` while an update is applied.
    revision_updating: String,
    /// `RevisionId` of `$LATEST` once the update is done: Lambda gives the configuration a new
    /// revision when an update completes (API reference, `GetFunctionConfiguration`:
    /// `RevisionId`, "the latest updated revision of the function"), so the one
    /// `UpdateFunctionConfiguration` answered with is stale by then (the behaviour AWS-validated
    /// LocalStack snapshots record, and aws/aws-sdk#377 reports).
    revision_done: String,
    /// `ReservedConcurrentExecutions`, when set (`PutFunctionConcurrency`).
    pub reserved_concurrency: Option<u32>,
    /// Why the last update failed (`LastUpdateStatus: Failed`), when it did.
    pub update_failure: Option<String>,
}

impl Function {
    /// A new function from its spec, at `arn`.
    pub fn new(spec: &FunctionSpec, arn: String) -> Function {
        Function {
            name: spec.name.clone(),
            arn,
            latest: Snapshot {
                memory: spec.memory,
                timeout: spec.timeout,
                description: spec.description.clone(),
                architecture: spec.architecture,
                logging: spec.logging.clone(),
                path: spec.path.clone(),
                args: spec.args.clone(),
                environment: spec.environment.clone(),
            },
            latest_revision: 0,
            update_done_at: Instant::now(),
            last_modified: SystemTime::now(),
            versions: BTreeMap::new(),
            next_version: 1,
            aliases: BTreeMap::new(),
            revision_updating: String::new(),
            revision_done: new_id(),
            reserved_concurrency: None,
            update_failure: None,
        }
    }

    /// The ARN with a qualifier.
    pub fn qualified_arn(&self, qualifier: &str) -> String {
        format!("{}:{qualifier}", self.arn)
    }

    /// Whether an update is being applied.
    pub fn updating(&self) -> bool {
        Instant::now() < self.update_done_at
    }

    /// Lambda's rule: nothing changes `$LATEST` or publishes while an update is in progress.
    fn ensure_idle(&self) -> Result<(), Refusal> {
        if self.updating() {
            return Err(Refusal::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.arn
            )));
        }
        Ok(())
    }

    /// `$LATEST`'s `RevisionId` now.
    pub fn revision_id(&self) -> &str {
        if self.updating() {
            &self.revision_updating
        } else {
            &self.revision_done
        }
    }

    /// Lambda's optimistic concurrency: a `RevisionId` given must be `$LATEST`'s.
    fn ensure_revision(&self, revision: Option<&str>) -> Result<(), Refusal> {
        match revision {
            Some(r) if r != self.revision_id() => Err(Refusal::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// `UpdateFunctionConfiguration`: validates every field (memory 128..10240 MB, timeout
    /// 1..900 s, description ≤ 256 characters), then applies it; `$LATEST` stays `InProgress`
    /// for `delay`.
    pub fn update(&mut self, change: &ConfigChange, delay: Duration) -> Result<(), Refusal> {
        self.ensure_idle()?;
        self.ensure_revision(change.revision.as_deref())?;
        let mut next = self.latest.clone();
        if let Some(memory) = &change.memory {
            next.memory = memory
                .as_u64()
                .filter(|m| (128..=10240).contains(m))
                .ok_or_else(|| Refusal::Invalid(format!(
                    "1 validation error detected: Value '{memory}' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240"
                )))? as u32;
        }
        if let Some(timeout) = &change.timeout {
            next.timeout = timeout
                .as_u64()
                .filter(|t| (1..=900).contains(t))
                .ok_or_else(|| Refusal::Invalid(format!(
                    "1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"
                )))? as u32;
        }
        if let Some(description) = &change.description {
            next.description = description
                .as_str()
                .filter(|d| d.chars().count() <= 256)
                .ok_or_else(|| Refusal::Invalid(
                    "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256".to_string(),
                ))?
                .to_string();
        }
        if let Some(environment) = &change.environment {
            next.environment = environment.clone();
        }
        if let Some(logging) = &change.logging {
            next.logging = next.logging.apply(logging)?;
        }
        self.latest = next;
        self.latest_revision += 1;
        self.last_modified = SystemTime::now();
        self.revision_updating = new_id();
        self.revision_done = if delay.is_zero() {
            self.revision_updating.clone()
        } else {
            new_id()
        };
        self.update_done_at = Instant::now() + delay;
        self.update_failure = None;
        Ok(())
    }

    /// `PublishVersion`: a new version of `$LATEST` — or, as on AWS, the last version again
    /// when nothing changed since it was published.
    pub fn publish(
        &mut self,
        description: Option<&str>,
        revision: Option<&str>,
    ) -> Result<u64, Refusal> {
        self.ensure_idle()?;
        self.ensure_revision(revision)?;
        let mut snapshot = self.latest.clone();
        if let Some(description) = description {
            snapshot.description = description.to_string();
        }
        Ok(match self.versions.iter().next_back() {
            Some((n, (last, _))) if last.same_as(&snapshot) => *n,
            _ => {
                let n = self.next_version;
                self.next_version += 1;
                self.versions.insert(n, (snapshot, SystemTime::now()));
                n
            }
        })
    }

    /// A version number that exists, else `ResourceNotFoundException`.
    fn existing_version(&self, version: &str) -> Result<u64, Refusal> {
        version
            .parse::<u64>()
            .ok()
            .filter(|n| self.versions.contains_key(n))
            .ok_or_else(|| Refusal::function_not_found(self.qualified_arn(version)))
    }

    /// `DeleteFunction` of a version: never `$LATEST`, never a version an alias points at.
    pub fn delete_version(&mut self, qualifier: &str) -> Result<u64, Refusal> {
        if qualifier == "$LATEST" {
            return Err(Refusal::Invalid(
                "$LATEST version cannot be deleted without deleting the function.".to_string(),
            ));
        }
        if qualifier.parse::<u64>().is_err() {
            return Err(Refusal::Invalid(format!(
                "Deletion of aliases is not supported by DeleteFunction: {qualifier}"
            )));
        }
        let number = self.existing_version(qualifier)?;
        let users: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, a)| a.version == number)
            .map(|(n, _)| n.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Refusal::Conflict(format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                users.join(", ")
            )));
        }
        self.versions.remove(&number);
        Ok(number)
    }

    /// An alias, else `ResourceNotFoundException`.
    pub fn alias(&self, name: &str) -> Result<&Alias, Refusal> {
        self.aliases.get(name).ok_or_else(|| {
            Refusal::NotFound(format!("Alias not found: {}", self.qualified_arn(name)))
        })
    }

    /// `CreateAlias`: a new name, pointing at an existing version.
    pub fn create_alias(
        &mut self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<Alias, Refusal> {
        if self.aliases.contains_key(name) {
            return Err(Refusal::Conflict(format!(
                "Alias already exists: {}",
                self.qualified_arn(name)
            )));
        }
        let alias = Alias {
            version: self.existing_version(version)?,
            description: description.to_string(),
            revision: new_id(),
        };
        self.aliases.insert(name.to_string(), alias.clone());
        Ok(alias)
    }

    /// `UpdateAlias`: an existing alias, pointing at an existing version.
    pub fn update_alias(
        &mut self,
        name: &str,
        version: Option<&str>,
        description: Option<&str>,
    ) -> Result<Alias, Refusal> {
        let version = version.map(|v| self.existing_version(v)).transpose()?;
        self.alias(name)?;
        let record = self
            .aliases
            .get_mut(name)
            .ok_or_else(|| Refusal::NotFound(format!("Alias not found: {name}")))?;
        if let Some(n) = version {
            record.version = n;
        }
        if let Some(d) = description {
            record.description = d.to_string();
        }
        record.revision = new_id();
        Ok(record.clone())
    }

    /// Resolves a qualifier (`None`, `$LATEST`, a version number or an alias).
    pub fn resolve(&self, qualifier: Option<&str>) -> Option<Resolved> {
        match qualifier {
            None | Some("$LATEST") => Some(Resolved {
                version: "$LATEST".to_string(),
                snapshot: self.latest.clone(),
                environment_key: format!("{}:$LATEST#{}", self.name, self.latest_revision),
            }),
            Some(q) => {
                let number = match q.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => self.aliases.get(q)?.version,
                };
                let (snapshot, _) = self.versions.get(&number)?;
                Some(Resolved {
                    version: number.to_string(),
                    snapshot: snapshot.clone(),
                    environment_key: format!("{}:{number}", self.name),
                })
            }
        }
    }
}

/// A resolved qualifier.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `$LATEST` or the version number.
    pub version: String,
    /// Its configuration.
    pub snapshot: Snapshot,
    /// Environments are reused only for the same key.
    pub environment_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> Function {
        Function::new(
            &FunctionSpec::new("f", "/bin/true"),
            "arn:aws:lambda:us-east-1:123456789012:function:f".to_string(),
        )
    }

    #[test]
    fn lambdas_rules_on_the_model() {
        let mut f = function();
        // An update is in progress: no second update, no publish.
        let change = ConfigChange {
            memory: Some(serde_json::json!(512)),
            ..ConfigChange::default()
        };
        f.update(&change, Duration::from_secs(60)).expect("update");
        assert_eq!(f.latest.memory, 512);
        assert!(matches!(
            f.update(&change, Duration::ZERO),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(f.publish(None, None), Err(Refusal::Conflict(_))));
        f.update_done_at = Instant::now();
        // Validation before any change.
        let bad = ConfigChange {
            memory: Some(serde_json::json!(64)),
            description: Some(serde_json::json!("x")),
            ..ConfigChange::default()
        };
        assert!(
            matches!(f.update(&bad, Duration::ZERO), Err(Refusal::Invalid(m)) if m.contains("memorySize"))
        );
        assert_eq!((f.latest.memory, f.latest.description.as_str()), (512, ""));
        // Publishing twice without a change returns the same version.
        let v1 = f.publish(None, None).expect("publish");
        assert_eq!(f.publish(None, None).expect("again"), v1);
        // Optimistic concurrency.
        assert!(matches!(
            f.publish(None, Some("stale")),
            Err(Refusal::PreconditionFailed(_))
        ));
        let current = f.revision_id().to_string();
        assert_eq!(f.publish(None, Some(&current)).expect("current"), v1);
        // Alias-protected versions.
        f.create_alias("live", &v1.to_string(), "").expect("alias");
        assert!(matches!(
            f.create_alias("live", "1", ""),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(f.delete_version("1"), Err(Refusal::Conflict(m)) if m.contains("[live]")));
        assert!(matches!(
            f.delete_version("$LATEST"),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(f.delete_version("9"), Err(Refusal::NotFound(_))));
        assert!(matches!(
            f.update_alias("live", Some("9"), None),
            Err(Refusal::NotFound(_))
        ));
        assert!(
            matches!(f.alias("dev"), Err(Refusal::NotFound(m)) if m == "Alias not found: arn:aws:lambda:us-east-1:123456789012:function:f:dev")
        );
    }
}
