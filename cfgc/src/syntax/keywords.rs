//! Kamailio 5.6.3's reserved words: every spelling the scanner turns into a
//! keyword token rather than an identifier.
