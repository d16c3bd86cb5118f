//! [`Editor`]: Kamailio-style "lumps" over a parsed [`Message`].
//!
//! Guarantees: the original buffer is never modified; each operation
//! records a byte-range replacement or insertion (kept sorted by offset),
//! and [`Editor::serialize`] splices them in one pass, copying untouched
//! bytes verbatim. Edits that overlap an earlier edit are refused with
//! [`EditError::Overlap`] (replacing exactly the same range supersedes the
//! earlier edit, so `set_max_forwards` twice keeps the last value); header
//! values containing CR or LF are refused so an edit can never break the
//! framing. A body change keeps Content-Length right.

use super::encode::{Edit, EditTag, fnv1a, splice, write_header, write_hex, write_u32};
use super::error::{EditError, ErrorKind, ParseError};
use super::header::{HeaderName, is_token_byte};
use super::message::Message;
use super::syntax::strip_brackets;

/// Records edits against one message.
#[derive(Debug, Clone)]
pub struct Editor<'m, 'a> {
    msg: &'m Message<'a>,
    edits: Vec<Edit>,
    seq: u32,
}

fn check_value(v: &[u8]) -> Result<(), EditError> {
    if v.iter().any(|&b| b == b'\r' || b == b'\n') {
        Err(EditError::LineBreakInValue)
    } else {
        Ok(())
    }
}

fn header_line(name: &[u8], value: &[u8]) -> Result<Vec<u8>, EditError> {
    if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
        return Err(EditError::LineBreakInValue);
    }
    check_value(value)?;
    let mut line = Vec::with_capacity(name.len() + value.len() + 4);
    write_header(&mut line, name, value);
    Ok(line)
}

fn u32_bytes(n: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(10);
    write_u32(&mut v, n);
    v
}

impl<'m, 'a> Editor<'m, 'a> {
    /// An editor with no edits.
    pub fn new(msg: &'m Message<'a>) -> Self {
        Self {
            msg,
            edits: Vec::new(),
            seq: 0,
        }
    }

    /// The message being edited.
    pub fn message(&self) -> &'m Message<'a> {
        self.msg
    }

    /// The recorded edits, sorted by offset.
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// Records a replacement of `start..end` (offsets into the message
    /// buffer) by `data`.
    ///
    /// # Errors
    /// [`EditError::OutOfMessage`], [`EditError::Overlap`].
    pub fn replace_range(
        &mut self,
        start: usize,
        end: usize,
        data: Vec<u8>,
    ) -> Result<(), EditError> {
        self.record(start, end, data, EditTag::Plain)
    }

    fn record(
        &mut self,
        start: usize,
        end: usize,
        data: Vec<u8>,
        tag: EditTag,
    ) -> Result<(), EditError> {
        let lo = self.msg.start_offset();
        let hi = self.msg.body_span().end as usize;
        if start > end || start < lo || end > hi {
            return Err(EditError::OutOfMessage);
        }
        for e in &mut self.edits {
            if start < end && e.start == start && e.end == end {
                e.data = data;
                e.tag = tag;
                return Ok(());
            }
            let conflict = if start < end && e.start < e.end {
                start < e.end && e.start < end
            } else if start == end {
                e.start < start && start < e.end
            } else {
                start < e.start && e.start < end
            };
            if conflict {
                return Err(EditError::Overlap);
            }
        }
        let at = self.edits.partition_point(|e| e.start <= start);
        self.edits.insert(
            at,
            Edit {
                start,
                end,
                data,
                seq: self.seq,
                tag,
            },
        );
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    /// Deletes `start..end` around the edits already inside it, as
    /// Kamailio joins a deletion with earlier lumps it overlaps: what they
    /// replaced stays replaced, their text is kept, the rest is deleted
    /// (Kamailio moves that text to the end of the deleted zone, which
    /// makes the same bytes).
    ///
    /// # Errors
    /// [`EditError::OutOfMessage`].
    pub fn delete_joined(&mut self, start: usize, end: usize) -> Result<(), EditError> {
        let mut taken: Vec<(usize, usize)> = self
            .edits
            .iter()
            .filter(|e| {
                if e.start < e.end {
                    e.start < end && start < e.end
                } else {
                    start < e.start && e.start < end
                }
            })
            .map(|e| (e.start, e.end))
            .collect();
        taken.sort_unstable();
        let mut at = start;
        for (a, b) in taken {
            if a > at {
                self.replace_range(at, a, Vec::new())?;
            }
            at = at.max(b);
        }
        if at < end {
            self.replace_range(at, end, Vec::new())?;
        }
        Ok(())
    }

    /// Replaces `part`, which must be a sub-slice of the message buffer
    /// (e.g. a typed value's field), by `data`.
    ///
    /// # Errors
    /// [`EditError::OutOfMessage`] if `part` is not inside the buffer.
    pub fn replace_slice(&mut self, part: &[u8], data: &[u8]) -> Result<(), EditError> {
        let off = self.msg.offset_of(part).ok_or(EditError::OutOfMessage)?;
        self.replace_range(off, off + part.len(), data.to_vec())
    }

    /// Inserts `data` at offset `pos`.
    ///
    /// # Errors
    /// As [`Editor::replace_range`].
    pub fn insert_at(&mut self, pos: usize, data: Vec<u8>) -> Result<(), EditError> {
        self.replace_range(pos, pos, data)
    }

    /// Appends `name: value` after the last header.
    ///
    /// # Errors
    /// Invalid name or a value with CR/LF.
    pub fn add_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        let line = header_line(name.as_bytes(), value)?;
        self.insert_at(self.msg.headers_end(), line)
    }

    /// Inserts `name: value` before the first header (where Kamailio puts
    /// Record-Route and `insert_hf`).
    ///
    /// # Errors
    /// Invalid name or a value with CR/LF.
    pub fn insert_header_first(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        let line = header_line(name.as_bytes(), value)?;
        self.insert_at(self.msg.headers_start(), line)
    }

    /// Inserts `name: value` at offset `at` (the start of a header line,
    /// or the end of the header block).
    ///
    /// # Errors
    /// Invalid name or a value with CR/LF, or an offset outside the
    /// message.
    pub fn insert_header_at(
        &mut self,
        at: usize,
        name: &str,
        value: &[u8],
    ) -> Result<(), EditError> {
        let line = header_line(name.as_bytes(), value)?;
        self.insert_at(at, line)
    }

    /// Removes the header line at `index` of [`Message::headers`].
    ///
    /// # Errors
    /// Index out of range, or overlap with an earlier edit.
    pub fn remove_header(&mut self, index: usize) -> Result<(), EditError> {
        let h = *self
            .msg
            .headers()
            .get(index)
            .ok_or(EditError::OutOfMessage)?;
        self.replace_range(h.line().start as usize, h.line().end as usize, Vec::new())
    }

    /// Removes every header line named `name`; returns how many.
    ///
    /// # Errors
    /// Overlap with an earlier edit.
    pub fn remove_headers(&mut self, name: HeaderName) -> Result<usize, EditError> {
        let mut n = 0;
        for i in 0..self.msg.headers().len() {
            if self.msg.headers()[i].name == name {
                self.remove_header(i)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Replaces the value of the header line at `index`.
    ///
    /// # Errors
    /// Index out of range, a value with CR/LF, or overlap.
    pub fn replace_header_value(&mut self, index: usize, value: &[u8]) -> Result<(), EditError> {
        check_value(value)?;
        let h = *self
            .msg
            .headers()
            .get(index)
            .ok_or(EditError::OutOfMessage)?;
        self.replace_range(
            h.value().start as usize,
            h.value().end as usize,
            value.to_vec(),
        )
    }

    fn ruri_span(&self) -> Result<(usize, usize), EditError> {
        match *self.msg.start_line() {
            super::StartLine::Request { uri, .. } => Ok((uri.start as usize, uri.end as usize)),
            super::StartLine::Status { .. } => {
                Err(ParseError::new(ErrorKind::WrongMessageKind, 0).into())
            }
        }
    }

    /// Rewrites the whole Request-URI (`$ru = ...`).
    ///
    /// # Errors
    /// A response, a URI containing white space, or overlap.
    pub fn set_ruri(&mut self, uri: &[u8]) -> Result<(), EditError> {
        let (s, e) = self.ruri_span()?;
        if uri.is_empty() || uri.iter().any(|&b| b <= b' ') {
            return Err(ParseError::new(ErrorKind::BadUri, s).into());
        }
        self.replace_range(s, e, uri.to_vec())
    }

    /// Rewrites the user part of the R-URI (`$rU`); `None` removes the
    /// userinfo (user, password and `@`).
    ///
    /// # Errors
    /// A response, an unparsable R-URI, or overlap.
    pub fn set_ruri_user(&mut self, user: Option<&[u8]>) -> Result<(), EditError> {
        let uri = self.msg.ruri()?;
        let host_off = self
            .msg
            .offset_of(uri.host)
            .ok_or(EditError::OutOfMessage)?;
        match (uri.user, user) {
            (Some(old), Some(new)) => self.replace_slice(old, new),
            (Some(old), None) => {
                let s = self.msg.offset_of(old).ok_or(EditError::OutOfMessage)?;
                self.replace_range(s, host_off, Vec::new())
            }
            (None, Some(new)) => {
                let mut d = new.to_vec();
                d.push(b'@');
                self.insert_at(host_off, d)
            }
            (None, None) => Ok(()),
        }
    }

    /// Rewrites the host of the R-URI (`$rd`).
    ///
    /// # Errors
    /// A response, an unparsable R-URI, an empty host, or overlap.
    pub fn set_ruri_host(&mut self, host: &[u8]) -> Result<(), EditError> {
        let uri = self.msg.ruri()?;
        if host.is_empty() || host.iter().any(|&b| b <= b' ' || b == b'@' || b == b';') {
            return Err(ParseError::new(ErrorKind::BadUri, 0).into());
        }
        let off = self
            .msg
            .offset_of(uri.host)
            .ok_or(EditError::OutOfMessage)?;
        self.replace_range(off, off + uri.host.len(), host.to_vec())
    }

    /// Rewrites the port of the R-URI (`$rp`); `None` removes it.
    ///
    /// # Errors
    /// A response, an unparsable R-URI, or overlap.
    pub fn set_ruri_port(&mut self, port: Option<u16>) -> Result<(), EditError> {
        let uri = self.msg.ruri()?;
        let host_end = self
            .msg
            .offset_of(uri.host)
            .ok_or(EditError::OutOfMessage)?
            + uri.host.len();
        match (uri.port_raw, port) {
            (Some(old), Some(p)) => self.replace_slice(old, &u32_bytes(u32::from(p))),
            (Some(old), None) => {
                let s = self.msg.offset_of(old).ok_or(EditError::OutOfMessage)?;
                self.replace_range(host_end, s + old.len(), Vec::new())
            }
            (None, Some(p)) => {
                let mut d = vec![b':'];
                write_u32(&mut d, u32::from(p));
                self.insert_at(host_end, d)
            }
            (None, None) => Ok(()),
        }
    }

    /// Inserts a new top Via `SIP/2.0/<transport> <host>[:<port>];branch=<branch>`
    /// before the first Via line.
    ///
    /// # Errors
    /// Values containing white space, or overlap.
    pub fn push_via(
        &mut self,
        transport: &str,
        host: &str,
        port: Option<u16>,
        branch: &[u8],
    ) -> Result<(), EditError> {
        let bad = |s: &[u8]| s.is_empty() || s.iter().any(|&b| b <= b' ' || b == b';' || b == b',');
        if bad(transport.as_bytes()) || bad(host.as_bytes()) || bad(branch) {
            return Err(EditError::LineBreakInValue);
        }
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(b"SIP/2.0/");
        v.extend_from_slice(transport.as_bytes());
        v.push(b' ');
        v.extend_from_slice(host.as_bytes());
        if let Some(p) = port {
            v.push(b':');
            write_u32(&mut v, u32::from(p));
        }
        v.extend_from_slice(b";branch=");
        v.extend_from_slice(branch);
        let line = header_line(b"Via", &v)?;
        let at = self
            .msg
            .header_entry(HeaderName::Via)
            .map_or(self.msg.headers_start(), |h| h.line().start as usize);
        self.insert_at(at, line)
    }

    /// Patches the received top Via before forwarding, as Kamailio does
    /// (`kamailio-modules.md` §0.3): when the sent-by host differs from
    /// `src_ip`, `;received=<src_ip>` goes right after host:port (an
    /// existing `received` is rewritten in place); an `rport` flag gets the
    /// source port in place, or with `force_rport` `;rport=<port>` is
    /// inserted right after host:port (after `received` if both).
    ///
    /// # Errors
    /// No readable top Via, or overlap.
    pub fn fix_top_via(
        &mut self,
        src_ip: &[u8],
        src_port: u16,
        force_rport: bool,
    ) -> Result<(), EditError> {
        check_value(src_ip)?;
        let via = self.msg.via_top()?;
        let hp_end = match via.port_raw {
            Some(p) => self.msg.offset_of(p).ok_or(EditError::OutOfMessage)? + p.len(),
            None => {
                self.msg
                    .offset_of(via.host)
                    .ok_or(EditError::OutOfMessage)?
                    + via.host.len()
            }
        };
        // Kamailio's received test: the host differs from the source, or
        // the Via asked for rport, or already has `received`.
        if via.rport.is_some()
            || via.received.is_some()
            || !strip_brackets(via.host).eq_ignore_ascii_case(strip_brackets(src_ip))
        {
            match via.received {
                Some(r) => self.replace_slice(r, src_ip)?,
                None => {
                    let mut d = b";received=".to_vec();
                    d.extend_from_slice(src_ip);
                    self.insert_at(hp_end, d)?;
                }
            }
        }
        let port = u32_bytes(u32::from(src_port));
        match via.rport {
            Some(Some(v)) => self.replace_slice(v, &port)?,
            Some(None) => {
                if let Some(p) = via
                    .params
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(b"rport"))
                {
                    let at =
                        self.msg.offset_of(p.name).ok_or(EditError::OutOfMessage)? + p.name.len();
                    let mut d = b"=".to_vec();
                    d.extend_from_slice(&port);
                    self.insert_at(at, d)?;
                }
            }
            None if force_rport => {
                let mut d = b";rport=".to_vec();
                d.extend_from_slice(&port);
                self.insert_at(hp_end, d)?;
            }
            None => {}
        }
        Ok(())
    }

    /// Sets Max-Forwards in place, or inserts it before the first header.
    ///
    /// # Errors
    /// Overlap with an earlier edit.
    pub fn set_max_forwards(&mut self, n: u32) -> Result<(), EditError> {
        match self.msg.header_entry(HeaderName::MaxForwards) {
            Some(h) => self.replace_range(
                h.value().start as usize,
                h.value().end as usize,
                u32_bytes(n),
            ),
            None => self.insert_at(
                self.msg.headers_start(),
                header_line(b"Max-Forwards", &u32_bytes(n))?,
            ),
        }
    }

    /// Kamailio's `mf_process_maxfwd_header(n)` with modparam `max_limit`
    /// (`kamailio-modules.md` §5): absent → `Max-Forwards: n` inserted at
    /// the top of the header block, returns `Some(n)`; `0` → `Ok(None)`
    /// (the caller replies 483); otherwise the value (first lowered to
    /// `max_limit + 1` if above `max_limit`) is decremented **in place**,
    /// right-aligned in the original digits' width with spaces on the left
    /// (`10` → ` 9`), and returned.
    ///
    /// # Errors
    /// Malformed Max-Forwards, or overlap.
    pub fn decrement_max_forwards(
        &mut self,
        n: u32,
        max_limit: u32,
    ) -> Result<Option<u32>, EditError> {
        let Some(h) = self.msg.header_entry(HeaderName::MaxForwards).copied() else {
            self.set_max_forwards(n)?;
            return Ok(Some(n));
        };
        let digits = self.msg.slice(h.value());
        let v = self.msg.max_forwards()?.unwrap_or(0);
        if v == 0 {
            return Ok(None);
        }
        let v = if v > max_limit {
            max_limit.saturating_add(1)
        } else {
            v
        };
        let new = v - 1;
        let text = u32_bytes(new);
        // new < the written value, so it always fits the original width.
        let mut field = vec![b' '; digits.len().saturating_sub(text.len())];
        field.extend_from_slice(&text);
        let start = h.value().start as usize;
        self.replace_range(start, start + digits.len(), field)?;
        Ok(Some(new))
    }

    /// Replaces the body and updates every Content-Length (inserting one if
    /// absent); with `content_type`, sets or inserts Content-Type too.
    /// Calling it again supersedes the previous call.
    ///
    /// # Errors
    /// Overlap with an edit of the body or those headers, or a CR/LF in
    /// `content_type`.
    pub fn set_body(&mut self, body: &[u8], content_type: Option<&[u8]>) -> Result<(), EditError> {
        if let Some(ct) = content_type {
            check_value(ct)?;
        }
        let len = u32::try_from(body.len()).map_err(|_| EditError::OutOfMessage)?;
        self.edits.retain(|e| {
            !matches!(
                e.tag,
                EditTag::Body | EditTag::ContentLength | EditTag::ContentType
            )
        });
        let b = self.msg.body_span();
        self.record(
            b.start as usize,
            b.end as usize,
            body.to_vec(),
            EditTag::Body,
        )?;
        let mut any = false;
        for h in self.msg.headers() {
            if h.name == HeaderName::ContentLength {
                any = true;
                self.record(
                    h.value().start as usize,
                    h.value().end as usize,
                    u32_bytes(len),
                    EditTag::ContentLength,
                )?;
            }
        }
        let end = self.msg.headers_end();
        if !any {
            let line = header_line(b"Content-Length", &u32_bytes(len))?;
            self.record(end, end, line, EditTag::ContentLength)?;
        }
        if let Some(ct) = content_type {
            match self.msg.header_entry(HeaderName::ContentType) {
                Some(h) => self.record(
                    h.value().start as usize,
                    h.value().end as usize,
                    ct.to_vec(),
                    EditTag::ContentType,
                )?,
                None => self.record(
                    end,
                    end,
                    header_line(b"Content-Type", ct)?,
                    EditTag::ContentType,
                )?,
            }
        }
        Ok(())
    }

    /// Appends `extra` to the (possibly already replaced) body.
    ///
    /// # Errors
    /// As [`Editor::set_body`].
    pub fn append_body(&mut self, extra: &[u8]) -> Result<(), EditError> {
        let mut body = match self.edits.iter().find(|e| e.tag == EditTag::Body) {
            Some(e) => e.data.clone(),
            None => self.msg.body().to_vec(),
        };
        body.extend_from_slice(extra);
        self.set_body(&body, None)
    }

    /// The edited message.
    pub fn serialize(&self) -> Vec<u8> {
        let extra: usize = self.edits.iter().map(|e| e.data.len()).sum();
        let mut out = Vec::with_capacity(self.msg.as_bytes().len() + extra);
        self.serialize_into(&mut out);
        out
    }

    /// Appends the edited message to `out` (reuse a buffer to avoid
    /// allocating).
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        splice(
            self.msg.buffer(),
            self.msg.start_offset(),
            self.msg.body_span().end as usize,
            &self.edits,
            out,
        );
    }
}

/// A branch for a stateless forward, following RFC 3261 §16.11: with an
/// RFC 3261 top Via branch, a hash of that branch (so a CANCEL or non-2xx
/// ACK, which reuse the INVITE's branch, hash the same); otherwise a hash
/// of top Via, To tag, From tag, Call-ID, CSeq number and R-URI. Always
/// `z9hG4bK` + 16 hex digits; stable across retransmissions.
///
/// # Errors
/// The message has no readable top Via.
pub fn stateless_branch(msg: &Message<'_>) -> Result<Vec<u8>, ParseError> {
    let via = msg.via_top()?;
    let h = match via.branch {
        Some(b) if via.has_rfc3261_branch() => fnv1a(&[b"rfc3261", b]),
        _ => {
            let to_tag = msg.to().ok().and_then(|t| t.tag).unwrap_or_default();
            let from_tag = msg.from().ok().and_then(|f| f.tag).unwrap_or_default();
            let call_id = msg.call_id().unwrap_or_default();
            let mut seq = Vec::with_capacity(10);
            if let Ok(c) = msg.cseq() {
                write_u32(&mut seq, c.seq);
            }
            fnv1a(&[
                b"2543",
                via.raw,
                to_tag,
                from_tag,
                call_id,
                &seq,
                msg.ruri_bytes().unwrap_or_default(),
            ])
        }
    };
    let mut out = Vec::with_capacity(23);
    out.extend_from_slice(b"z9hG4bK");
    write_hex(&mut out, h, 16);
    Ok(out)
}
