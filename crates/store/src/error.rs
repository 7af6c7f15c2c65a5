use souk_core::{DomainError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("group commit: {0}")]
    GroupCommit(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://path or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A UNIQUE (or primary key) constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sqlx(sqlx::Error::Database(e)) => {
                matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation)
            }
            _ => false,
        }
    }

    /// A FOREIGN KEY constraint refused the write (an id that does not exist).
    pub fn is_foreign_key_violation(&self) -> bool {
        match self {
            StoreError::Sqlx(sqlx::Error::Database(e)) => {
                matches!(e.kind(), sqlx::error::ErrorKind::ForeignKeyViolation)
            }
            _ => false,
        }
    }
}

impl From<StoreError> for DomainError {
    /// Storage failures the caller did not anticipate are internal; details
    /// go to the log, never to the client.
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        DomainError::new(
            ErrorCode::Internal,
            "The server could not complete the request; it is safe to retry.",
        )
    }
}
