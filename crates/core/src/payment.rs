//! Payments (M4): payment intents and their state machine.
//!
//! An intent is an amount in one currency to collect by one method. It is
//! authorised (the money is held), then captured (taken) or voided (let go);
//! captured money can be refunded in full or in parts. Every change is
//! decided here; the service applies it with a compare-and-set on the stored
//! state, so the webhook, the buyer's return and a clerk racing each other
//! can capture once only.
//!
//! A QR wallet may confirm a payment after souk voided its intent (the order
//! was cancelled, or left unpaid past the window): the payer's money was
//! taken anyway. That late payment is given back at once, in full: the
//! intent goes `voided → refunded` ([`IntentCommand::RefundLate`], chosen by
//! [`on_paid`]) and the order stays cancelled.

use crate::error::{DomainError, DomainResult, ErrorCode};
use serde::{Deserialize, Serialize};

/// How the buyer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Paid at the till; a clerk of the fulfilling store confirms it.
    Cash,
    /// A card terminal at the till (a sandbox terminal in development).
    CardTerminal,
    /// A QR wallet, confirmed asynchronously by the provider's signed webhook.
    Alipay,
    WechatPay,
    /// A provider token the buyer saved earlier (charged on an auction win).
    StoredCard,
}

impl Method {
    pub const ALL: &'static [Method] = &[
        Method::Cash,
        Method::CardTerminal,
        Method::Alipay,
        Method::WechatPay,
        Method::StoredCard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::CardTerminal => "card_terminal",
            Method::Alipay => "alipay",
            Method::WechatPay => "wechat_pay",
            Method::StoredCard => "stored_card",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Method::ALL.iter().copied().find(|m| m.as_str() == s)
    }

    /// QR wallets confirm through a webhook.
    pub fn is_qr_wallet(self) -> bool {
        matches!(self, Method::Alipay | Method::WechatPay)
    }
}

/// Where an intent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentState {
    /// Created; waiting for the buyer (scan, card, cash).
    RequiresAction,
    /// The provider holds the money.
    Authorised,
    Captured,
    PartiallyRefunded,
    Refunded,
    Voided,
}

impl IntentState {
    pub const ALL: &'static [IntentState] = &[
        IntentState::RequiresAction,
        IntentState::Authorised,
        IntentState::Captured,
        IntentState::PartiallyRefunded,
        IntentState::Refunded,
        IntentState::Voided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::RequiresAction => "requires_action",
            IntentState::Authorised => "authorised",
            IntentState::Captured => "captured",
            IntentState::PartiallyRefunded => "partially_refunded",
            IntentState::Refunded => "refunded",
            IntentState::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        IntentState::ALL.iter().copied().find(|m| m.as_str() == s)
    }

    /// Captured money is (partly) still with the platform.
    pub fn is_captured(self) -> bool {
        matches!(self, IntentState::Captured | IntentState::PartiallyRefunded)
    }
}

/// What may be asked of an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentCommand {
    Authorise,
    /// Takes the whole amount. From `requires_action` it authorises and
    /// captures at once (cash at the till, a terminal that captures directly).
    Capture,
    Void,
    Refund {
        amount_minor: i64,
    },
    /// The provider took the money after the intent was voided: it is
    /// refunded in full at once (`voided → refunded`), never captured.
    RefundLate,
}

/// What the provider's word that the payer paid (a webhook, the buyer's
/// return) asks of an intent in `state`: a capture, or, when the intent was
/// voided meanwhile, a late refund. Whether it is still allowed is
/// [`decide`]'s answer.
pub fn on_paid(state: IntentState) -> IntentCommand {
    match state {
        IntentState::Voided => IntentCommand::RefundLate,
        _ => IntentCommand::Capture,
    }
}

/// The intent's figures a decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntentFigures {
    pub state: IntentState,
    pub amount_minor: i64,
    pub refunded_minor: i64,
}

/// The outcome of a decision: the new state and the refunded total after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntentChange {
    pub from: IntentState,
    pub to: IntentState,
    pub refunded_minor: i64,
}

fn illegal(s: IntentState, what: &str) -> DomainError {
    DomainError::new(
        ErrorCode::IllegalTransition,
        format!("A payment that is {} cannot be {what}.", s.as_str()),
    )
}

/// Decides a command against an intent.
pub fn decide(f: IntentFigures, cmd: IntentCommand) -> DomainResult<IntentChange> {
    use IntentState as S;
    let change = |to, refunded_minor| IntentChange {
        from: f.state,
        to,
        refunded_minor,
    };
    match cmd {
        IntentCommand::Authorise => match f.state {
            S::RequiresAction => Ok(change(S::Authorised, 0)),
            s => Err(illegal(s, "authorised")),
        },
        IntentCommand::Capture => match f.state {
            S::RequiresAction | S::Authorised => Ok(change(S::Captured, 0)),
            S::Captured | S::PartiallyRefunded | S::Refunded => Err(DomainError::new(
                ErrorCode::AlreadyCaptured,
                "This payment was already captured.",
            )),
            s => Err(illegal(s, "captured")),
        },
        IntentCommand::Void => match f.state {
            S::RequiresAction | S::Authorised => Ok(change(S::Voided, 0)),
            s => Err(illegal(s, "voided")),
        },
        IntentCommand::RefundLate => match f.state {
            S::Voided => Ok(change(S::Refunded, f.amount_minor)),
            S::Refunded => Err(DomainError::new(
                ErrorCode::IllegalTransition,
                "This payment was already refunded.",
            )),
            s => Err(illegal(s, "refunded as a late payment")),
        },
        IntentCommand::Refund { amount_minor } => {
            if !f.state.is_captured() {
                return Err(illegal(f.state, "refunded"));
            }
            let left = f.amount_minor - f.refunded_minor;
            if amount_minor <= 0 || amount_minor > left {
                return Err(DomainError::new(
                    ErrorCode::InvalidAmount,
                    format!("A refund must be more than zero and at most {left} (what is left)."),
                ));
            }
            let after = f.refunded_minor + amount_minor;
            let to = if after == f.amount_minor {
                S::Refunded
            } else {
                S::PartiallyRefunded
            };
            Ok(change(to, after))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(state: IntentState, refunded: i64) -> IntentFigures {
        IntentFigures {
            state,
            amount_minor: 1000,
            refunded_minor: refunded,
        }
    }

    #[test]
    fn capture_happens_once() {
        let c = decide(f(IntentState::Authorised, 0), IntentCommand::Capture);
        assert_eq!(c.map(|c| c.to), Ok(IntentState::Captured));
        let again = decide(f(IntentState::Captured, 0), IntentCommand::Capture);
        assert_eq!(again.map_err(|e| e.code), Err(ErrorCode::AlreadyCaptured));
        assert!(decide(f(IntentState::Voided, 0), IntentCommand::Capture).is_err());
    }

    #[test]
    fn refunds_in_parts_end_refunded() {
        let r = decide(
            f(IntentState::Captured, 0),
            IntentCommand::Refund { amount_minor: 400 },
        );
        assert_eq!(
            r.map(|c| (c.to, c.refunded_minor)),
            Ok((IntentState::PartiallyRefunded, 400))
        );
        let r = decide(
            f(IntentState::PartiallyRefunded, 400),
            IntentCommand::Refund { amount_minor: 600 },
        );
        assert_eq!(
            r.map(|c| (c.to, c.refunded_minor)),
            Ok((IntentState::Refunded, 1000))
        );
        assert!(decide(
            f(IntentState::PartiallyRefunded, 400),
            IntentCommand::Refund { amount_minor: 601 }
        )
        .is_err());
        assert!(decide(
            f(IntentState::Authorised, 0),
            IntentCommand::Refund { amount_minor: 1 }
        )
        .is_err());
    }

    #[test]
    fn a_late_payment_on_a_voided_intent_is_refunded_in_full_once() {
        assert_eq!(
            on_paid(IntentState::Voided),
            IntentCommand::RefundLate,
            "voided: the money goes back"
        );
        for s in [
            IntentState::RequiresAction,
            IntentState::Authorised,
            IntentState::Captured,
            IntentState::PartiallyRefunded,
            IntentState::Refunded,
        ] {
            assert_eq!(on_paid(s), IntentCommand::Capture, "{s:?}");
        }
        let r = decide(f(IntentState::Voided, 0), IntentCommand::RefundLate);
        assert_eq!(
            r.map(|c| (c.from, c.to, c.refunded_minor)),
            Ok((IntentState::Voided, IntentState::Refunded, 1000))
        );
        // Once only, and never from any other state.
        for s in IntentState::ALL
            .iter()
            .copied()
            .filter(|s| *s != IntentState::Voided)
        {
            let r = decide(f(s, 0), IntentCommand::RefundLate);
            assert_eq!(
                r.map_err(|e| e.code),
                Err(ErrorCode::IllegalTransition),
                "{s:?}"
            );
        }
        // A voided intent is still never captured.
        assert!(decide(f(IntentState::Voided, 0), IntentCommand::Capture).is_err());
    }

    #[test]
    fn void_only_before_capture() {
        assert!(decide(f(IntentState::RequiresAction, 0), IntentCommand::Void).is_ok());
        assert!(decide(f(IntentState::Captured, 0), IntentCommand::Void).is_err());
    }
}
