//! HTTP long-polling, as messages to the connection's owner: a GET
//! ([`Poll`]) is answered at once, held until there is something to send,
//! or refused; a POST ([`BeginPost`], then [`Post`]) has every packet of its
//! body handled, and what they queue queued, before its `ok`.

use actix::{AsyncContext, Context, Handler, Message};
use bytes::Bytes;
use tokio::sync::oneshot;

use super::{
    engine::{Ending, Reply},
    owner::{Conn, Layer},
    UPGRADE_HOLD,
};
use crate::socketio::engine::{decode_payload, DecodeError, EngineError};

/// A polling GET, answered through `tx`.
pub struct Poll(pub oneshot::Sender<Reply>);

impl Message for Poll {
    type Result = ();
}

impl<L: Layer> Handler<Poll> for Conn<L> {
    type Result = ();

    fn handle(&mut self, Poll(tx): Poll, ctx: &mut Context<Self>) {
        if self.pong_overdue(ctx) {
            let _ = tx.send(Reply::Refused(EngineError::UnknownSid));
            return;
        }
        let token = self.engine.poll(tx);
        if let (Some(token), true) = (token, self.engine.upgrading()) {
            ctx.run_later(UPGRADE_HOLD, move |conn, _| {
                conn.engine.upgrade_hold_over(token);
            });
        }
        self.settle(ctx);
    }
}

/// A POST begins (before its body is read): refused when another is in
/// flight or the connection has moved to a WebSocket.
pub struct BeginPost;

impl Message for BeginPost {
    type Result = Result<(), EngineError>;
}

impl<L: Layer> Handler<BeginPost> for Conn<L> {
    type Result = Result<(), EngineError>;

    fn handle(&mut self, _: BeginPost, ctx: &mut Context<Self>) -> Self::Result {
        if self.pong_overdue(ctx) {
            return Err(EngineError::UnknownSid);
        }
        let begun = self.engine.begin_post();
        self.settle(ctx);
        begun
    }
}

/// A POST's body (`Ok`), or why it could not be read (too large, binary):
/// the connection ends then. Answered with the status to reply with.
pub struct Post(pub Result<Bytes, DecodeError>);

impl Message for Post {
    type Result = Result<(), u16>;
}

impl<L: Layer> Handler<Post> for Conn<L> {
    type Result = Result<(), u16>;

    fn handle(&mut self, Post(body): Post, ctx: &mut Context<Self>) -> Self::Result {
        self.engine.end_post();
        let max = self.engine.config().max_payload;
        let result = body.and_then(|body| {
            let packets = decode_payload(&body, max)?;
            for packet in packets {
                if self.engine.is_ended() {
                    break;
                }
                self.on_packet(packet, ctx);
            }
            Ok(())
        });
        if let Err(err) = &result {
            self.engine.end(Ending::ParseError);
            self.settle(ctx);
            return Err(err.status());
        }
        self.settle(ctx);
        Ok(())
    }
}

/// Answers a held poll that its owner forgot (the owner stopped): the
/// connection is gone.
pub fn orphaned() -> Reply {
    Reply::Refused(EngineError::UnknownSid)
}
