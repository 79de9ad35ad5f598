//! STS: who is calling.

use crate::aws::aws_error;
use crate::error::{Error, Result};

pub const ACTIONS: &[&str] = &["sts:GetCallerIdentity"];

/// (account id, principal ARN) of the caller.
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<(String, String)> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error(e, "identifying the caller (sts:GetCallerIdentity)", "sts:GetCallerIdentity"))?;
    let account = out.account().ok_or_else(|| Error::refused("STS returned no account id for the caller", None))?;
    let arn = out.arn().ok_or_else(|| Error::refused("STS returned no ARN for the caller", None))?;
    Ok((account.to_owned(), arn.to_owned()))
}
