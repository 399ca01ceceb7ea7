//! The error type: the C API's status code and the message ember_last_error() gave.
use std::ffi::CStr;
use std::fmt;

use ember_sys as sys;

/// What kind of failure (one per `EMBER_ERR_*` code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    InvalidArgument,
    FileNotFound,
    BadFile,
    Unsupported,
    OutOfMemory,
    ContextFull,
    Cancelled,
    Io,
    Internal,
    BufferTooSmall,
    NotFound,
    /// A chat template failed: a syntax error, raise_exception(), a type error or a limit.
    Template,
    /// A code this crate does not know (from a newer library).
    Other(i32),
}

impl Status {
    pub fn from_code(code: i32) -> Status {
        match code {
            sys::EMBER_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::EMBER_ERR_FILE_NOT_FOUND => Status::FileNotFound,
            sys::EMBER_ERR_BAD_FILE => Status::BadFile,
            sys::EMBER_ERR_UNSUPPORTED => Status::Unsupported,
            sys::EMBER_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::EMBER_ERR_CONTEXT_FULL => Status::ContextFull,
            sys::EMBER_ERR_CANCELLED => Status::Cancelled,
            sys::EMBER_ERR_IO => Status::Io,
            sys::EMBER_ERR_INTERNAL => Status::Internal,
            sys::EMBER_ERR_BUFFER_TOO_SMALL => Status::BufferTooSmall,
            sys::EMBER_ERR_NOT_FOUND => Status::NotFound,
            sys::EMBER_ERR_TEMPLATE => Status::Template,
            other => Status::Other(other),
        }
    }

    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => sys::EMBER_ERR_INVALID_ARGUMENT,
            Status::FileNotFound => sys::EMBER_ERR_FILE_NOT_FOUND,
            Status::BadFile => sys::EMBER_ERR_BAD_FILE,
            Status::Unsupported => sys::EMBER_ERR_UNSUPPORTED,
            Status::OutOfMemory => sys::EMBER_ERR_OUT_OF_MEMORY,
            Status::ContextFull => sys::EMBER_ERR_CONTEXT_FULL,
            Status::Cancelled => sys::EMBER_ERR_CANCELLED,
            Status::Io => sys::EMBER_ERR_IO,
            Status::Internal => sys::EMBER_ERR_INTERNAL,
            Status::BufferTooSmall => sys::EMBER_ERR_BUFFER_TOO_SMALL,
            Status::NotFound => sys::EMBER_ERR_NOT_FOUND,
            Status::Template => sys::EMBER_ERR_TEMPLATE,
            Status::Other(c) => c,
        }
    }
}

/// A failed call: its status and the message naming what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Turns a status into a Result, taking the calling thread's last error message.
pub(crate) fn check(code: sys::ember_status) -> Result<()> {
    if code == sys::EMBER_OK {
        return Ok(());
    }
    // SAFETY: ember_last_error never returns NULL; the text is valid until the next failing
    // call on this thread, and it is copied at once.
    let message = unsafe { CStr::from_ptr(sys::ember_last_error()) }.to_string_lossy().into_owned();
    Err(Error { status: Status::from_code(code), message })
}
