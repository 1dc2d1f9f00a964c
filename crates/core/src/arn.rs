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
