//! [`LambdaApi`] on the fake: the control plane (configurations, versions, aliases,
//! concurrency, roles) and the two invocation calls, which take the invoke path (`invoke`).

use crate::fake::lambda::FakeLambda;
use crate::fake::model::Op;
use crate::fake::state::{Conf, split_function};
use crate::ports::{
    AccountConcurrency, AliasConfig, AliasTarget, ConfigUpdate, FunctionConfig, InvokeOptions,
    InvokeOutput, InvokeRequest, LambdaApi, LambdaError, StreamedOutput, VersionsPage,
};

impl FakeLambda {
    /// `CreateAlias` or `UpdateAlias` (`op`) with Lambda's refusals: an alias that exists
    /// cannot be created, one that does not cannot be updated, and either needs an existing
    /// version.
    fn put_alias(
        &self,
        op: Op,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> Result<AliasConfig, LambdaError> {
        let AliasTarget { name, version } = alias;
        let create = op == Op::CreateAlias;
        self.on_function(op, function, Some(name), None, None, |f, _, _| {
            if create && f.aliases.contains_key(name) {
                return Err(LambdaError::Conflict(format!(
                    "Alias already exists: {}:{name}",
                    f.arn
                )));
            }
            f.existing_version(version)?;
            if !create && !f.aliases.contains_key(name) {
                return Err(LambdaError::NotFound(format!(
                    "Alias not found: {}:{name}",
                    f.arn
                )));
            }
            f.aliases.insert(name.to_string(), version.to_string());
            Ok(AliasConfig {
                name: name.to_string(),
                function_version: version.to_string(),
            })
        })
    }
}

impl LambdaApi for FakeLambda {
    async fn update_configuration(
        &self,
        function: &str,
        update: ConfigUpdate<'_>,
    ) -> Result<FunctionConfig, LambdaError> {
        let ConfigUpdate {
            memory_size,
            description,
            revision,
        } = update;
        self.on_function(
            Op::UpdateConfiguration,
            function,
            None,
            Some(memory_size),
            None,
            |f, updates, now| {
                f.ensure_idle(now)?;
                f.ensure_revision(revision, now)?;
                if !(128..=10240).contains(&memory_size) {
                    return Err(LambdaError::InvalidRequest {
                        code: "InvalidParameterValueException".to_string(),
                        message: format!(
                            "MemorySize value failed to satisfy constraint: {memory_size}"
                        ),
                    });
                }
                f.latest = Conf {
                    memory: memory_size,
                    description: description.to_string(),
                };
                f.update_done_at = now + updates.delay;
                f.update_fails = match updates.fail_next.take() {
                    Some((0, reason)) => Some(reason),
                    Some((skip, reason)) => {
                        updates.fail_next = Some((skip - 1, reason));
                        None
                    }
                    None => None,
                };
                f.revision += 1;
                f.idle_environments.remove("$LATEST");
                Ok(self.config(f, "$LATEST", &f.latest))
            },
        )
    }

    async fn publish_version(
        &self,
        function: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.on_function(
            Op::PublishVersion,
            function,
            None,
            None,
            None,
            |f, _, now| {
                f.ensure_idle(now)?;
                f.ensure_revision(revision, now)?;
                // Like Lambda: nothing changed since the last version → that version.
                let number = match f.versions.iter().next_back() {
                    Some((n, conf)) if *conf == f.latest => *n,
                    _ => {
                        let n = f.next_version;
                        f.next_version += 1;
                        f.versions.insert(n, f.latest.clone());
                        n
                    }
                };
                Ok(self.config(f, &number.to_string(), &f.versions[&number]))
            },
        )
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<VersionsPage, LambdaError> {
        const PAGE: usize = 50;
        self.on_function(Op::ListVersions, function, None, None, None, |f, _, _| {
            let mut all = vec![self.config(f, "$LATEST", &f.latest)];
            all.extend(
                f.versions
                    .iter()
                    .map(|(n, c)| self.config(f, &n.to_string(), c)),
            );
            let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
            let end = (start + PAGE).min(all.len());
            Ok(VersionsPage {
                versions: all
                    .get(start..end)
                    .map(<[FunctionConfig]>::to_vec)
                    .unwrap_or_default(),
                next_marker: (end < all.len()).then(|| end.to_string()),
            })
        })
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), LambdaError> {
        self.on_function(Op::DeleteVersion, function, Some(version), None, None, |f, _, _| {
            if version.parse::<u64>().is_err() {
                return Err(LambdaError::InvalidRequest {
                    code: "InvalidParameterValueException".to_string(),
                    message: format!("Only versions can be deleted here, not {version}"),
                });
            }
            let number = f.existing_version(version)?;
            if let Some((alias, _)) = f.aliases.iter().find(|(_, v)| **v == version) {
                return Err(LambdaError::Conflict(format!(
                    "Unable to delete version because the following aliases reference it: [{alias}]"
                )));
            }
            f.versions.remove(&number);
            Ok(())
        })
    }

    async fn get_alias(&self, function: &str, name: &str) -> Result<AliasConfig, LambdaError> {
        self.on_function(Op::GetAlias, function, Some(name), None, None, |f, _, _| {
            f.aliases
                .get(name)
                .map(|v| AliasConfig {
                    name: name.to_string(),
                    function_version: v.clone(),
                })
                .ok_or_else(|| LambdaError::NotFound(format!("Alias not found: {}:{name}", f.arn)))
        })
    }

    async fn create_alias(
        &self,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> Result<AliasConfig, LambdaError> {
        self.put_alias(Op::CreateAlias, function, alias)
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> Result<AliasConfig, LambdaError> {
        self.put_alias(Op::UpdateAlias, function, alias)
    }

    async fn invoke(
        &self,
        request: InvokeRequest<'_>,
        options: InvokeOptions,
    ) -> Result<InvokeOutput, LambdaError> {
        let ran = self.run(Op::Invoke, request).await?;
        Ok(ran.into_invoke_output(options))
    }

    async fn get_function_concurrency(&self, function: &str) -> Result<Option<u32>, LambdaError> {
        self.on_function(
            Op::GetFunctionConcurrency,
            function,
            None,
            None,
            None,
            |f, _, _| Ok(f.reserved),
        )
    }

    async fn get_account_concurrency(
        &self,
        function: &str,
    ) -> Result<AccountConcurrency, LambdaError> {
        let mut state = self.lock();
        self.begin(
            &mut state,
            Op::GetAccountSettings,
            function,
            None,
            None,
            None,
        )?;
        Ok(AccountConcurrency {
            unreserved: state.unreserved(),
        })
    }

    async fn use_role(&self, role: Option<&crate::ports::AssumedRole>) -> Result<(), LambdaError> {
        let mut state = self.lock();
        if let Some(role) = role {
            if state.denied_roles.contains(&role.role_arn.to_string()) {
                return Err(LambdaError::AccessDenied(format!(
                    "not authorized to perform sts:AssumeRole on {}",
                    role.role_arn
                )));
            }
            state
                .assumed
                .push((role.role_arn.to_string(), role.session_name.clone()));
        }
        state.role = role.cloned();
        Ok(())
    }

    async fn invoke_streaming(
        &self,
        request: InvokeRequest<'_>,
    ) -> Result<StreamedOutput, LambdaError> {
        let ran = self.run(Op::InvokeStreaming, request).await?;
        Ok(ran.into_streamed_output())
    }

    async fn get_configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        let (_, embedded) = split_function(function);
        let qualifier = qualifier.or(embedded.as_deref());
        self.on_function(
            Op::GetConfiguration,
            function,
            qualifier,
            None,
            None,
            |f, _, _| {
                let (version, conf) = Self::resolve(f, qualifier)?;
                Ok(self.config(f, &version, &conf))
            },
        )
    }
}
