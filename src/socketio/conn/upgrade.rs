//! The upgrade from polling to WebSocket, on a connection's transport
//! state: a WebSocket with the connection's sid is a probe until it sends
//! `2probe` (answered `3probe`, and the held poll `6`) then `5`, when the
//! connection moves to it with everything still queued, in order. Anything
//! else, or closing, abandons the probe and the connection stays on polling.

use super::engine::{Engine, Mode, PipeCmd, PipeLink};
use crate::socketio::engine::Frame;

impl Engine {
    /// A WebSocket for this connection arrived: the transport of a
    /// WebSocket connection, or an upgrade's probe. Anything else (an
    /// upgrade under way or done) is closed at once.
    pub fn attach(&mut self, link: PipeLink) {
        match self.mode {
            Mode::WebSocket if self.pipe.is_none() && !self.is_ended() => {
                self.pipe = Some(link);
                let frames: Vec<Frame> = self.queue.drain(..).collect();
                self.queued = 0;
                self.push(frames);
            }
            Mode::Polling if !self.is_ended() => {
                self.mode = Mode::Upgrading {
                    probe: link,
                    probed: false,
                };
            }
            _ => link.close(),
        }
    }

    /// Which pipe `id` is to the connection.
    pub fn pipe_role(&self, id: u64) -> PipeRole {
        match &self.mode {
            Mode::WebSocket if self.pipe.as_ref().is_some_and(|pipe| pipe.id == id) => {
                PipeRole::Transport
            }
            Mode::Upgrading { probe, .. } if probe.id == id => PipeRole::Probe,
            _ => PipeRole::Stranger,
        }
    }

    /// A probe's `2probe`: `3probe` on it, and `6` to the held poll so the
    /// client can pause polling.
    pub fn probe(&mut self) {
        if let Mode::Upgrading { probe, probed } = &mut self.mode {
            probe.to.do_send(PipeCmd::Frames(vec![Frame::probe_pong()]));
            *probed = true;
            self.answer_held("6");
        }
    }

    /// A probe's `5`: the connection moves to it, with everything queued.
    /// A `5` before `2probe` abandons the upgrade.
    pub fn commit_upgrade(&mut self) {
        let mode = std::mem::replace(&mut self.mode, Mode::Polling);
        match mode {
            Mode::Upgrading {
                probe,
                probed: true,
            } => {
                // A poll held now came after the probe (the probe answered
                // the one before it), so after the client's `5`: its hold
                // timer answers it 400, as for any poll after the upgrade.
                self.mode = Mode::WebSocket;
                self.pipe = Some(probe);
                let frames: Vec<Frame> = self.queue.drain(..).collect();
                self.queued = 0;
                self.push(frames);
            }
            other => self.mode = other,
        }
    }

    /// The probe failed (a wrong packet, closed, or too slow): it is closed
    /// and the connection stays on polling.
    pub fn abandon_upgrade(&mut self, id: u64) {
        let probing = matches!(&self.mode, Mode::Upgrading { probe, .. } if probe.id == id);
        if probing {
            if let Mode::Upgrading { probe, .. } = std::mem::replace(&mut self.mode, Mode::Polling)
            {
                probe.close();
            }
            self.answer_held_with_queue();
        }
    }
}

/// What a WebSocket pipe is to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeRole {
    /// It carries the connection.
    Transport,
    /// It is an upgrade's probe.
    Probe,
    /// Neither (any more).
    Stranger,
}
