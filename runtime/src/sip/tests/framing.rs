//! RFC 3261 §18.3 framing on streams; RFC 5626 §3.5.1 CRLF keep-alives.

use super::{INVITE, crlf};
use crate::sip::framing::{Frame, FrameError, Limits, frame_stream};

#[test]
fn complete_incomplete_and_pipelined() {
    let l = Limits::default();
    assert_eq!(
        frame_stream(INVITE, &l),
        Frame::Complete {
            start: 0,
            end: INVITE.len()
        }
    );
    for cut in [1, 100, INVITE.len() - 1] {
        assert_eq!(
            frame_stream(&INVITE[..cut], &l),
            Frame::Incomplete { skip: 0 },
            "{cut}"
        );
    }
    let mut two = b"\r\n\r\n".to_vec();
    two.extend_from_slice(INVITE);
    two.extend_from_slice(INVITE);
    assert_eq!(
        frame_stream(&two, &l),
        Frame::Complete {
            start: 4,
            end: 4 + INVITE.len()
        }
    );
    assert_eq!(
        frame_stream(&two[4 + INVITE.len()..], &l),
        Frame::Complete {
            start: 0,
            end: INVITE.len()
        }
    );
    assert_eq!(frame_stream(b"\r\n\r\n", &l), Frame::Incomplete { skip: 4 });
    assert_eq!(frame_stream(b"", &l), Frame::Incomplete { skip: 0 });
}

#[test]
fn compact_content_length_and_lf_only() {
    let b = b"MESSAGE sip:h SIP/2.0\nl: 3\n\nabcNEXT";
    assert_eq!(
        frame_stream(b, &Limits::default()),
        Frame::Complete {
            start: 0,
            end: b.len() - 4
        }
    );
}

#[test]
fn errors() {
    let l = Limits {
        max_header_bytes: 64,
        max_body_bytes: 10,
    };
    let no_cl = crlf("MESSAGE sip:h SIP/2.0\nCall-ID: x\n\n");
    assert_eq!(
        frame_stream(&no_cl, &l),
        Frame::Error(FrameError::MissingContentLength)
    );
    let big = crlf("MESSAGE sip:h SIP/2.0\nContent-Length: 11\n\n");
    assert_eq!(
        frame_stream(&big, &l),
        Frame::Error(FrameError::BodyTooLarge)
    );
    let bad = crlf("MESSAGE sip:h SIP/2.0\nContent-Length: x\n\n");
    assert_eq!(
        frame_stream(&bad, &l),
        Frame::Error(FrameError::BadContentLength)
    );
    let two = crlf("MESSAGE sip:h SIP/2.0\nContent-Length: 1\nl: 2\n\n");
    assert_eq!(
        frame_stream(&two, &l),
        Frame::Error(FrameError::BadContentLength)
    );
    let long = vec![b'a'; 100];
    assert_eq!(
        frame_stream(&long, &l),
        Frame::Error(FrameError::HeadersTooLarge)
    );
    assert_eq!(frame_stream(&long[..50], &l), Frame::Incomplete { skip: 0 });
}
