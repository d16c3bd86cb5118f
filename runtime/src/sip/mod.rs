//! SIP messages: lazy zero-copy parsing, typed access, editing and replies.
