//! Accounts and access: phone sign-in with one-time codes, console sign-in
//! with argon2 passwords, API keys for machines, revocable sessions.

use crate::clock::Clock;
use crate::otp_sender::CodeSender;
use crate::secrets::{hash_secret, new_token, random_u64};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use dashmap::DashMap;
use souk_core::access::{may_view_account, require_operator, Credential, Grant, Principal};
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{AccountId, SessionId};
use souk_core::otp;
use souk_core::phone::Phone;
use souk_store::accounts::{self as repo, CredentialKind, NewAccount};
use souk_store::{catalog as catalog_repo, locations as location_repo, Db};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A session lasts 30 days.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// How long an authenticated token is trusted from memory before the
/// database is asked again. Revocation on this node is immediate; the TTL
/// bounds how long another node may still accept a revoked token.
const PRINCIPAL_CACHE_TTL_MS: i64 = 30_000;
/// Failed password attempts per email allowed in [`PASSWORD_WINDOW_MS`].
const MAX_PASSWORD_FAILURES: usize = 5;
const PASSWORD_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Past this many emails with recent failures, stale entries are swept out.
const PASSWORD_FAILURES_SWEEP_AT: usize = 10_000;

/// Bearers looked up in one query at most.
const LOOKUPS_PER_QUERY: usize = 200;

type Found = DomainResult<Option<(repo::CredentialRow, Vec<Grant>)>>;

/// First uses of bearers, looked up together: a request whose bearer is not
/// in memory queues its secret's hash, and every hash queued while the last
/// query ran goes in the next one (`WHERE secret_hash IN (…)`). A flash
/// sale's buyers all arrive unknown; one read for many of them spares a
/// database round trip each. One query at a time: with 4 at once the
/// batches were smaller and the race slower (SQLite 12.0k → 13.5k/s,
/// PostgreSQL 7.0k → 7.7k/s with one).
struct BearerLookups {
    queue: tokio::sync::mpsc::UnboundedSender<(String, tokio::sync::oneshot::Sender<Found>)>,
}

impl BearerLookups {
    fn start(db: Db) -> Self {
        let (queue, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(String, tokio::sync::oneshot::Sender<Found>)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let batch =
                    souk_store::batch::gather(first, LOOKUPS_PER_QUERY, || rx.try_recv().ok());
                let hashes: Vec<&str> = batch.iter().map(|(h, _)| h.as_str()).collect();
                match repo::credentials_with_grants(db.pool(), &hashes).await {
                    Ok(found) => {
                        // One bearer may be asked for by many requests at once.
                        for (hash, reply) in batch {
                            let _ = reply.send(Ok(found.get(&hash).cloned()));
                        }
                    }
                    Err(e) => {
                        let e = DomainError::from(e);
                        for (_, reply) in batch {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        BearerLookups { queue }
    }

    async fn find(&self, hash: String) -> Found {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.queue
            .send((hash, tx))
            .map_err(|_| DomainError::internal("bearer lookups stopped"))?;
        rx.await
            .map_err(|_| DomainError::internal("bearer lookup dropped"))?
    }
}

/// A principal trusted from memory: who, by which credential, until when.
struct Cached {
    principal: Principal,
    credential: SessionId,
    expires_at_ms: Option<i64>,
    checked_at_ms: i64,
}

pub struct Accounts {
    db: Db,
    clock: Arc<dyn Clock>,
    sender: Arc<dyn CodeSender>,
    principals: DashMap<String, Cached>,
    lookups: BearerLookups,
    /// Bumped whenever cached principals are dropped (revocation, new grants,
    /// disabling): a lookup that raced one of those does not cache its answer.
    cache_epoch: AtomicU64,
    /// Password attempts per email: each is counted before it is checked and
    /// kept when it fails, so concurrent guesses cannot overrun the limit.
    password_failures: DashMap<String, Vec<i64>>,
}

/// The result of signing in: the bearer token is shown once.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub grants: Vec<Grant>,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: AccountId,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
    pub grants: Vec<Grant>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct CredentialView {
    pub id: SessionId,
    pub kind: Credential,
    pub label: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

/// A console user to create.
pub struct NewConsoleUser {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

pub fn parse_email(raw: &str) -> DomainResult<String> {
    let e = raw.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(DomainError::invalid(format!(
            "{raw:?} is not an email address."
        )))
    }
}

pub fn check_password_strength(p: &str) -> DomainResult<()> {
    let n = p.chars().count();
    if !(10..=128).contains(&n) {
        return Err(DomainError::new(
            ErrorCode::WeakPassword,
            "A password must be 10 to 128 characters.",
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> DomainResult<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs CPU-heavy argon2 work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DomainError::internal(format!("worker failed: {e}")))
}

fn invalid_credentials() -> DomainError {
    DomainError::new(
        ErrorCode::InvalidCredentials,
        "The email or password is wrong.",
    )
}

impl Accounts {
    pub fn new(db: Db, clock: Arc<dyn Clock>, sender: Arc<dyn CodeSender>) -> Self {
        let lookups = BearerLookups::start(db.clone());
        Self {
            db,
            clock,
            sender,
            principals: DashMap::new(),
            lookups,
            cache_epoch: AtomicU64::new(0),
            password_failures: DashMap::new(),
        }
    }

    /// Sends a sign-in code to `phone`. Returns the code's lifetime in seconds.
    pub async fn request_code(&self, phone: &str) -> DomainResult<i64> {
        let phone = Phone::parse(phone)?;
        let now = self.clock.now_ms();
        let code = otp::code_from_entropy(random_u64());
        let mut tx = self.db.begin_write().await?;
        repo::lock_phone(&mut tx, self.db.dialect(), phone.as_str()).await?;
        let sends =
            repo::otp_sends_since(&mut *tx, phone.as_str(), now - otp::SEND_WINDOW_MS).await?;
        otp::may_send(now, &sends)?;
        repo::insert_otp(
            &mut *tx,
            phone.as_str(),
            &hash_secret(&code),
            now,
            now + otp::CODE_TTL_MS,
        )
        .await?;
        souk_store::commit(tx).await?;
        self.sender.send(&phone, &code);
        Ok(otp::CODE_TTL_MS / 1000)
    }

    /// Checks a code; on success signs the phone's buyer in, creating the account on first use.
    pub async fn verify_code(&self, phone: &str, code: &str) -> DomainResult<SignedIn> {
        let phone = Phone::parse(phone)?;
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::new(
                ErrorCode::InvalidCode,
                "The code is six digits.",
            ));
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        // Racing guesses for one phone queue here: each sees the attempts before it.
        repo::lock_phone(&mut tx, self.db.dialect(), phone.as_str()).await?;
        let latest = repo::latest_otp(&mut *tx, phone.as_str()).await?;
        let verdict = otp::verify(now, latest.as_ref().map(|(_, c)| c), &hash_secret(code))?;
        let Some((otp_id, _)) = latest else {
            return Err(DomainError::new(
                ErrorCode::InvalidCode,
                "No code was sent to this phone.",
            ));
        };
        match verdict {
            otp::Verdict::Reject => {
                repo::count_otp_attempt(&mut *tx, otp_id).await?;
                souk_store::commit(tx).await?;
                Err(DomainError::new(
                    ErrorCode::InvalidCode,
                    "The code is wrong.",
                ))
            }
            otp::Verdict::Accept => {
                if !repo::consume_otp(&mut *tx, otp_id).await? {
                    return Err(DomainError::new(
                        ErrorCode::InvalidCode,
                        "This code was already used.",
                    ));
                }
                let account = match repo::account_by_phone(&mut *tx, phone.as_str()).await? {
                    Some(a) if a.disabled => {
                        return Err(DomainError::forbidden("This account is disabled."));
                    }
                    Some(a) => a.id,
                    None => {
                        let id = repo::insert_account(
                            &mut *tx,
                            NewAccount {
                                display_name: &phone.masked(),
                                phone: Some(phone.as_str()),
                                email: None,
                                password_hash: None,
                            },
                            now,
                        )
                        .await?;
                        repo::add_grant(&mut *tx, id, Grant::Buyer).await?;
                        id
                    }
                };
                let signed = self.open_session(&mut tx, account, "phone", now).await?;
                souk_store::commit(tx).await?;
                Ok(signed)
            }
        }
    }

    async fn open_session(
        &self,
        tx: &mut souk_store::WriteTx,
        account: AccountId,
        label: &str,
        now: i64,
    ) -> DomainResult<SignedIn> {
        let token = new_token("ses_");
        let expires = now + SESSION_TTL_MS;
        let session_id = repo::insert_credential(
            &mut **tx,
            account,
            CredentialKind::Session,
            label,
            &hash_secret(&token),
            now,
            Some(expires),
        )
        .await?;
        let grants = repo::grants_of(&mut **tx, account).await?;
        Ok(SignedIn {
            token,
            session_id,
            account_id: account,
            grants,
            expires_at_ms: expires,
        })
    }

    /// Console sign-in by email and password.
    pub async fn sign_in_password(&self, email: &str, password: &str) -> DomainResult<SignedIn> {
        let email = parse_email(email).map_err(|_| invalid_credentials())?;
        let now = self.clock.now_ms();
        self.reserve_password_attempt(&email, now)?;
        let account = repo::account_by_email(self.db.pool(), &email).await?;
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let pw = password.to_owned();
        // Verify even for unknown emails so timing does not reveal which exist.
        let ok = blocking(move || match stored {
            Some(h) => verify_password(&pw, &h),
            None => {
                let _ = hash_password(&pw);
                false
            }
        })
        .await?;
        let account = match account {
            Some(a) if ok => a,
            // The attempt reserved above stays counted as a failure.
            _ => return Err(invalid_credentials()),
        };
        self.password_failures.remove(&email);
        if account.disabled {
            return Err(DomainError::forbidden("This account is disabled."));
        }
        let mut tx = self.db.begin_write().await?;
        let signed = self
            .open_session(&mut tx, account.id, "password", now)
            .await?;
        souk_store::commit(tx).await?;
        Ok(signed)
    }

    /// Counts a password attempt for `email` before it is checked, refusing it
    /// when the window is full. The check and the count are one step (the map
    /// entry is locked), so concurrent guesses cannot all slip under the limit.
    fn reserve_password_attempt(&self, email: &str, now: i64) -> DomainResult<()> {
        if self.password_failures.len() > PASSWORD_FAILURES_SWEEP_AT {
            self.password_failures.retain(|_, fails| {
                fails.retain(|t| now - t < PASSWORD_WINDOW_MS);
                !fails.is_empty()
            });
        }
        let mut fails = self.password_failures.entry(email.to_owned()).or_default();
        fails.retain(|t| now - t < PASSWORD_WINDOW_MS);
        if fails.len() >= MAX_PASSWORD_FAILURES {
            return Err(DomainError::new(
                ErrorCode::TooManyAttempts,
                "Too many wrong passwords for this account; try again in 15 minutes.",
            ));
        }
        fails.push(now);
        Ok(())
    }

    /// Resolves a bearer secret to the principal it stands for.
    pub async fn authenticate(&self, bearer: &str) -> DomainResult<Principal> {
        let now = self.clock.now_ms();
        let hash = hash_secret(bearer);
        if let Some(hit) = self.principals.get(&hash) {
            if now - hit.checked_at_ms < PRINCIPAL_CACHE_TTL_MS
                && hit.expires_at_ms.is_none_or(|e| now < e)
            {
                return Ok(hit.principal.clone());
            }
        }
        let epoch = self.cache_epoch.load(Ordering::SeqCst);
        let unauthenticated =
            || DomainError::new(ErrorCode::Unauthenticated, "The bearer token is not valid.");
        if bearer.len() > 200 {
            return Err(unauthenticated());
        }
        let (cred, grants) = self
            .lookups
            .find(hash.clone())
            .await?
            .ok_or_else(unauthenticated)?;
        if cred.revoked_at_ms.is_some() {
            return Err(DomainError::new(
                ErrorCode::TokenRevoked,
                "This token was revoked; sign in again.",
            ));
        }
        if cred.expires_at_ms.is_some_and(|e| now >= e) {
            return Err(DomainError::new(
                ErrorCode::TokenRevoked,
                "This session has expired; sign in again.",
            ));
        }
        if cred.account_disabled {
            return Err(DomainError::forbidden("This account is disabled."));
        }
        let principal = Principal {
            account_id: cred.account_id,
            grants,
            credential: match cred.kind {
                CredentialKind::Session => Credential::Session,
                CredentialKind::ApiKey => Credential::ApiKey,
            },
        };
        // A revocation or grant change that ran meanwhile may postdate what
        // was read: answer with it, but do not trust it from memory later.
        if self.cache_epoch.load(Ordering::SeqCst) == epoch {
            self.principals.insert(
                hash,
                Cached {
                    principal: principal.clone(),
                    credential: cred.id,
                    expires_at_ms: cred.expires_at_ms,
                    checked_at_ms: now,
                },
            );
        }
        Ok(principal)
    }

    fn forget_cached(&self, id: SessionId) {
        self.cache_epoch.fetch_add(1, Ordering::SeqCst);
        self.principals.retain(|_, v| v.credential != id);
    }

    fn forget_cached_account(&self, account: AccountId) {
        self.cache_epoch.fetch_add(1, Ordering::SeqCst);
        self.principals
            .retain(|_, v| v.principal.account_id != account);
    }

    /// Revokes the credential presented with this request (sign out).
    pub async fn logout(&self, bearer: &str) -> DomainResult<()> {
        let hash = hash_secret(bearer);
        let cred = repo::credential_by_hash(self.db.pool(), &hash)
            .await?
            .ok_or_else(|| {
                DomainError::new(ErrorCode::Unauthenticated, "The bearer token is not valid.")
            })?;
        repo::revoke_credential(self.db.pool(), cred.id, self.clock.now_ms()).await?;
        self.forget_cached(cred.id);
        Ok(())
    }

    /// Revokes a session or API key of the caller's own (or any, for operators).
    pub async fn revoke(&self, p: &Principal, id: SessionId) -> DomainResult<()> {
        let cred = repo::credential_by_id(self.db.pool(), id)
            .await?
            .filter(|c| may_view_account(p, c.account_id))
            .ok_or_else(|| DomainError::not_found("The session or API key"))?;
        repo::revoke_credential(self.db.pool(), cred.id, self.clock.now_ms()).await?;
        self.forget_cached(cred.id);
        Ok(())
    }

    pub async fn credentials(&self, p: &Principal) -> DomainResult<Vec<CredentialView>> {
        let now = self.clock.now_ms();
        Ok(repo::credentials_of(self.db.pool(), p.account_id)
            .await?
            .into_iter()
            .filter(|c| c.expires_at_ms.is_none_or(|e| e > now))
            .map(|c| CredentialView {
                id: c.id,
                kind: match c.kind {
                    CredentialKind::Session => Credential::Session,
                    CredentialKind::ApiKey => Credential::ApiKey,
                },
                label: c.label,
                created_at_ms: c.created_at_ms,
                expires_at_ms: c.expires_at_ms,
            })
            .collect())
    }

    /// Issues an API key for a machine client acting as the caller. Console roles only.
    pub async fn create_api_key(
        &self,
        p: &Principal,
        label: &str,
    ) -> DomainResult<(SessionId, String)> {
        if !p.grants.iter().any(|g| g.is_console()) {
            return Err(DomainError::forbidden(
                "Only operators, suppliers and store clerks may create API keys.",
            ));
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(DomainError::invalid(
                "An API key needs a label of 1 to 100 characters.",
            ));
        }
        let token = new_token("key_");
        let id = repo::insert_credential(
            self.db.pool(),
            p.account_id,
            CredentialKind::ApiKey,
            label,
            &hash_secret(&token),
            self.clock.now_ms(),
            None,
        )
        .await?;
        Ok((id, token))
    }

    pub async fn account(&self, p: &Principal, id: AccountId) -> DomainResult<AccountView> {
        if !may_view_account(p, id) {
            // Same answer as a missing account: ids of others are not confirmed.
            return Err(DomainError::not_found("The account"));
        }
        let a = repo::account_by_id(self.db.pool(), id)
            .await?
            .ok_or_else(|| DomainError::not_found("The account"))?;
        let grants = repo::grants_of(self.db.pool(), id).await?;
        Ok(AccountView {
            id: a.id,
            display_name: a.display_name,
            phone: a.phone,
            email: a.email,
            disabled: a.disabled,
            grants,
            created_at_ms: a.created_at_ms,
        })
    }

    pub async fn list(
        &self,
        p: &Principal,
        after: i64,
        limit: u32,
    ) -> DomainResult<Vec<AccountView>> {
        require_operator(p)?;
        let rows = repo::list_accounts(self.db.pool(), after, limit).await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            let grants = repo::grants_of(self.db.pool(), a.id).await?;
            out.push(AccountView {
                id: a.id,
                display_name: a.display_name,
                phone: a.phone,
                email: a.email,
                disabled: a.disabled,
                grants,
                created_at_ms: a.created_at_ms,
            });
        }
        Ok(out)
    }

    /// Checks that each grant's organisation exists and fits the role.
    async fn check_grants(&self, grants: &[Grant]) -> DomainResult<()> {
        for g in grants {
            match *g {
                Grant::Supplier { supplier_id } => {
                    let found = catalog_repo::supplier(self.db.pool(), supplier_id).await?;
                    if found.is_none() {
                        return Err(DomainError::invalid(format!(
                            "Supplier {supplier_id} does not exist."
                        )));
                    }
                }
                Grant::StoreClerk { location_id } => {
                    let loc = location_repo::get(self.db.pool(), location_id).await?;
                    if loc.is_none_or(|l| l.kind != souk_core::location::LocationKind::Store) {
                        return Err(DomainError::invalid(format!(
                            "Location {location_id} is not a store."
                        )));
                    }
                }
                Grant::ShopOwner { .. } => {
                    return Err(DomainError::invalid(
                        "Shop owners get their shop by creating one, not by a grant.",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Operators create console users (operators, supplier users, clerks).
    pub async fn create_console_user(
        &self,
        p: &Principal,
        u: NewConsoleUser,
    ) -> DomainResult<AccountId> {
        require_operator(p)?;
        self.insert_console_user(u).await
    }

    /// Creates a console user without an acting principal (first operator, demo seeding).
    pub async fn insert_console_user(&self, u: NewConsoleUser) -> DomainResult<AccountId> {
        let email = parse_email(&u.email)?;
        check_password_strength(&u.password)?;
        let name = souk_core::location::parse_name("display", &u.display_name)?;
        if u.grants.is_empty() || u.grants.len() > 20 {
            return Err(DomainError::invalid("Give a console user 1 to 20 grants."));
        }
        self.check_grants(&u.grants).await?;
        let pw = u.password.clone();
        let hash = blocking(move || hash_password(&pw)).await??;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin_write().await?;
        let taken = || {
            DomainError::new(
                ErrorCode::EmailTaken,
                "An account with this email already exists.",
            )
        };
        if repo::account_by_email(&mut *tx, &email).await?.is_some() {
            return Err(taken());
        }
        let id = match repo::insert_account(
            &mut *tx,
            NewAccount {
                display_name: &name,
                phone: None,
                email: Some(&email),
                password_hash: Some(&hash),
            },
            now,
        )
        .await
        {
            // A concurrent create of the same email won the race.
            Err(e) if e.is_unique_violation() => return Err(taken()),
            r => r?,
        };
        for g in &u.grants {
            repo::add_grant(&mut *tx, id, *g).await?;
        }
        souk_store::commit(tx).await?;
        Ok(id)
    }

    /// Adds a grant to an existing account (operators only).
    pub async fn add_grant(
        &self,
        p: &Principal,
        account: AccountId,
        grant: Grant,
    ) -> DomainResult<()> {
        require_operator(p)?;
        self.check_grants(&[grant]).await?;
        if repo::account_by_id(self.db.pool(), account)
            .await?
            .is_none()
        {
            return Err(DomainError::not_found("The account"));
        }
        repo::add_grant(self.db.pool(), account, grant).await?;
        self.forget_cached_account(account);
        Ok(())
    }

    /// Disables an account and revokes all its credentials (operators only).
    pub async fn disable(&self, p: &Principal, account: AccountId) -> DomainResult<()> {
        require_operator(p)?;
        if account == p.account_id {
            return Err(DomainError::invalid("You cannot disable your own account."));
        }
        let mut tx = self.db.begin_write().await?;
        if !repo::set_disabled(&mut *tx, account, true).await? {
            return Err(DomainError::not_found("The account"));
        }
        repo::revoke_all_of(&mut *tx, account, self.clock.now_ms()).await?;
        souk_store::commit(tx).await?;
        self.forget_cached_account(account);
        Ok(())
    }
}
