//! Function ARNs: validation of unqualified Lambda function ARNs and the parts we need.

use std::fmt;
use std::str::FromStr;

/// An unqualified Lambda function ARN: `arn:<partition>:lambda:<region>:<account>:function:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArn {
    arn: String,
}

impl FunctionArn {
    /// Parses and validates an unqualified function ARN in any partition.
    pub fn parse(value: &str) -> Option<FunctionArn> {
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() != 7 {
            return None;
        }
        let valid = parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && parts[2] == "lambda"
            && !parts[3].is_empty()
            && parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5] == "function"
            && is_function_name(parts[6]);
        valid.then(|| FunctionArn {
            arn: value.to_string(),
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    fn part(&self, index: usize) -> &str {
        self.arn.split(':').nth(index).unwrap_or_default()
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub fn partition(&self) -> &str {
        self.part(1)
    }

    /// The region, the 4th part of the ARN.
    pub fn region(&self) -> &str {
        self.part(3)
    }

    /// The account id.
    pub fn account(&self) -> &str {
        self.part(4)
    }

    /// The function name.
    pub fn function_name(&self) -> &str {
        self.part(6)
    }
}

/// A value that is not an unqualified function ARN, with the contract's message (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid ARN: {0} (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
)]
pub struct InvalidArn(pub String);

impl FromStr for FunctionArn {
    type Err = InvalidArn;

    fn from_str(value: &str) -> Result<FunctionArn, InvalidArn> {
        FunctionArn::parse(value).ok_or_else(|| InvalidArn(value.to_string()))
    }
}

impl fmt::Display for FunctionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// An IAM role ARN: `arn:<partition>:iam::<account-id>:role/<path/name>` (SPEC §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    arn: String,
}

impl RoleArn {
    /// Parses and validates a role ARN in any partition.
    pub fn parse(value: &str) -> Option<RoleArn> {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts.as_slice() else {
            return None;
        };
        let name = resource.strip_prefix("role/")?;
        let valid = *arn == "arn"
            && partition.starts_with("aws")
            && partition
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-')
            && *service == "iam"
            && region.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && !name.is_empty()
            && name.len() <= 512
            && !name.ends_with('/')
            && name.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            });
        valid.then(|| RoleArn {
            arn: value.to_string(),
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The account id.
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// Lambda function names: 1 to 64 letters, digits, hyphens or underscores.
pub fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The region of any ARN-like string (4th `:`-separated part), if it has one.
pub fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_partition() {
        for arn in [
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn_1",
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:x",
        ] {
            let parsed = FunctionArn::parse(arn).expect(arn);
            assert_eq!(parsed.as_str(), arn);
        }
        let arn = FunctionArn::parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:fn_1")
            .expect("valid");
        assert_eq!(arn.region(), "cn-north-1");
        assert_eq!(arn.partition(), "aws-cn");
        assert_eq!(arn.function_name(), "fn_1");
        assert_eq!(arn.account(), "123456789012");
    }

    #[test]
    fn role_arns() {
        for good in [
            "arn:aws:iam::123456789012:role/tuner",
            "arn:aws-cn:iam::123456789012:role/path/to/tuner-role_1",
            "arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f",
        ] {
            let role = RoleArn::parse(good).expect(good);
            assert_eq!((role.as_str(), role.account()), (good, "123456789012"));
        }
        for bad in [
            "",
            "arn:aws:iam::123456789012:user/tuner",
            "arn:aws:iam:us-east-1:123456789012:role/tuner",
            "arn:aws:iam::1234:role/tuner",
            "arn:aws:sts::123456789012:role/tuner",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/bad name",
            "arn:aws:iam::123456789012:role//x",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ] {
            assert!(RoleArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn invalid_arn_message() {
        assert_eq!(
            "my-fn"
                .parse::<FunctionArn>()
                .expect_err("invalid")
                .to_string(),
            "Invalid ARN: my-fn (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for arn in [
            "",
            "my-function",
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn:3",
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn:$LATEST",
            "arn:aws:s3:us-east-1:123456789012:function:my-fn",
            "arn:aws:lambda::123456789012:function:my-fn",
            "arn:aws:lambda:us-east-1:1234:function:my-fn",
            "arn:aws:lambda:us-east-1:123456789012:layer:my-fn",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:bad name",
            "arn:gcp:lambda:us-east-1:123456789012:function:f",
        ] {
            assert!(FunctionArn::parse(arn).is_none(), "{arn}");
        }
    }
}
