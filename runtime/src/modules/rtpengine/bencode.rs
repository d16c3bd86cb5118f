//! Bencode, as rtpengine's "ng" control protocol carries it: byte
//! strings, integers, lists and dictionaries. Sans-IO. Dictionaries keep
//! their keys in insertion order when encoded, as Kamailio's `bencode.c`
//! writes them (rtpengine does not require sorted keys).

/// One bencoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Str(Vec<u8>),
    Int(i64),
    List(Vec<Item>),
    Dict(Vec<(Vec<u8>, Item)>),
}

impl Item {
    /// A string item.
    pub fn str(s: impl AsRef<[u8]>) -> Self {
        Item::Str(s.as_ref().to_vec())
    }

    /// The value of `key` in a dictionary (the first one).
    pub fn get(&self, key: &str) -> Option<&Item> {
        match self {
            Item::Dict(d) => d.iter().find(|(k, _)| k == key.as_bytes()).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The bytes of a string item.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Item::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a string entry of a dictionary.
    pub fn get_str(&self, key: &str) -> Option<&[u8]> {
        self.get(key).and_then(Item::as_bytes)
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Item::Str(s) => {
                out.extend_from_slice(s.len().to_string().as_bytes());
                out.push(b':');
                out.extend_from_slice(s);
            }
            Item::Int(n) => {
                out.push(b'i');
                out.extend_from_slice(n.to_string().as_bytes());
                out.push(b'e');
            }
            Item::List(l) => {
                out.push(b'l');
                for i in l {
                    i.encode_into(out);
                }
                out.push(b'e');
            }
            Item::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    Item::Str(k.clone()).encode_into(out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// Nesting limit of [`decode`]: a reply nested deeper is refused.
const MAX_DEPTH: usize = 64;

/// Decodes one value that must fill `data` exactly. `None` for anything
/// malformed (never panics).
pub fn decode(data: &[u8]) -> Option<Item> {
    let (item, rest) = decode_one(data, 0)?;
    rest.is_empty().then_some(item)
}

fn decode_one(data: &[u8], depth: usize) -> Option<(Item, &[u8])> {
    if depth > MAX_DEPTH {
        return None;
    }
    match *data.first()? {
        b'i' => {
            let end = data.iter().position(|&b| b == b'e')?;
            let n = std::str::from_utf8(data.get(1..end)?).ok()?.parse().ok()?;
            Some((Item::Int(n), data.get(end + 1..)?))
        }
        b'l' => {
            let mut rest = data.get(1..)?;
            let mut items = Vec::new();
            loop {
                if rest.first() == Some(&b'e') {
                    return Some((Item::List(items), rest.get(1..)?));
                }
                let (i, r) = decode_one(rest, depth + 1)?;
                items.push(i);
                rest = r;
            }
        }
        b'd' => {
            let mut rest = data.get(1..)?;
            let mut items = Vec::new();
            loop {
                if rest.first() == Some(&b'e') {
                    return Some((Item::Dict(items), rest.get(1..)?));
                }
                let (k, r) = decode_one(rest, depth + 1)?;
                let Item::Str(k) = k else { return None };
                let (v, r) = decode_one(r, depth + 1)?;
                items.push((k, v));
                rest = r;
            }
        }
        b'0'..=b'9' => {
            let colon = data.iter().position(|&b| b == b':')?;
            let len: usize = std::str::from_utf8(data.get(..colon)?).ok()?.parse().ok()?;
            let start = colon + 1;
            let end = start.checked_add(len)?;
            Some((Item::Str(data.get(start..end)?.to_vec()), data.get(end..)?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = Item::Dict(vec![
            (b"sdp".to_vec(), Item::str("v=0\r\n")),
            (b"n".to_vec(), Item::Int(-3)),
            (
                b"flags".to_vec(),
                Item::List(vec![Item::str("a"), Item::str("")]),
            ),
        ]);
        let e = d.encode();
        assert_eq!(e, b"d3:sdp5:v=0\r\n1:ni-3e5:flagsl1:a0:ee".to_vec());
        assert_eq!(decode(&e), Some(d));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"d",
            b"5:ab",
            b"i12",
            b"d1:ae",
            b"di1ei2ee",
            b"99999999999999999999999:a",
            b"l",
            b"3:abcx",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = [b"l".repeat(100), b"e".repeat(100)].concat();
        assert_eq!(decode(&deep), None);
    }
}
