//! The pipeline itself (being written).
use super::{TableState, Validated};
use crate::error::{Check, Errno, Error};

pub(super) fn run<'a>(_optval: &'a [u8], _state: &dyn TableState) -> Result<Validated<'a>, Error> {
    Err(Error::new(Check::ReplaceTooShort, Errno::EINVAL))
}
