//! Script values and Kamailio's operator semantics (kamailio-cfg-language.md
//! §5.3–§5.4): three kinds (int, string, undefined), 32-bit wrapping
//! arithmetic, operators typed by their *left* operand at run time.

use std::borrow::Cow;

pub use cfgc_vocab::BinOp;

/// A value of the routing language. Strings are bytes (SIP is not UTF-8)
/// and borrow the message where they can.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Value<'a> {
    /// Undefined: a missing header, an unset AVP, `$null`.
    #[default]
    Null,
    /// Kamailio 5.6 computes in C `int`: 32 bits, wrapping.
    Int(i32),
    Str(Cow<'a, [u8]>),
}

/// A value that owns its bytes (for storage across messages: `$var`).
pub type OwnedValue = Value<'static>;

impl<'a> Value<'a> {
    pub fn str(s: &'a [u8]) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// A truth value: 1 or 0.
    pub fn bool(b: bool) -> Value<'static> {
        Value::Int(i32::from(b))
    }

    pub fn string(s: impl Into<Vec<u8>>) -> Value<'static> {
        Value::Str(Cow::Owned(s.into()))
    }

    /// Maps an optional byte string: absent is `Null`.
    pub fn opt(s: Option<&'a [u8]>) -> Self {
        s.map_or(Value::Null, Value::str)
    }

    pub fn into_owned(self) -> OwnedValue {
        match self {
            Value::Null => Value::Null,
            Value::Int(i) => Value::Int(i),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// String to int is all-or-nothing: an optional sign and decimal digits,
    /// or `0x` and hex digits; anything else is 0, silently. Undefined is 0.
    pub fn to_int(&self) -> i32 {
        match self {
            Value::Null => 0,
            Value::Int(i) => *i,
            Value::Str(s) => str_to_int(s).unwrap_or(0),
        }
    }

    /// Int to string is decimal; undefined is the empty string.
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Value::Null => Cow::Borrowed(b""),
            Value::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            Value::Str(s) => Cow::Borrowed(s),
        }
    }

    /// Truth in `if` and `selval`: the int value must be > 0
    /// (`if(-1)` is false, `if("7")` true, `if("abc")` false).
    pub fn is_true(&self) -> bool {
        self.to_int() > 0
    }

    /// C truth, used by `!`, `&&`, `||` and `while`: non-zero.
    pub fn is_nonzero(&self) -> bool {
        self.to_int() != 0
    }

    /// `+`: int addition if the left operand is an int at run time,
    /// concatenation otherwise (`"ab"+1+2` is `"ab12"`, `1+2+"a"` is 3).
    pub fn add(&self, rhs: &Value<'_>) -> OwnedValue {
        match self {
            Value::Int(a) => Value::Int(a.wrapping_add(rhs.to_int())),
            _ => {
                let mut s = self.to_bytes().into_owned();
                s.extend_from_slice(&rhs.to_bytes());
                Value::Str(Cow::Owned(s))
            }
        }
    }

    /// `==`: compared as ints if the left operand is an int, as bytes
    /// (case-sensitive) if it is a string; if the left is undefined, the
    /// right operand's type decides (undefined is 0 or "").
    pub fn equals(&self, rhs: &Value<'_>) -> bool {
        match (self, rhs) {
            (Value::Int(a), _) => *a == rhs.to_int(),
            (Value::Str(a), _) => a.as_ref() == rhs.to_bytes().as_ref(),
            (Value::Null, Value::Int(b)) => *b == 0,
            (Value::Null, Value::Str(b)) => b.is_empty(),
            (Value::Null, Value::Null) => true,
        }
    }

    /// `strempty(e)` (also what `e == ""` is rewritten to): the string
    /// form is empty (an int 0 is "0": not empty).
    pub fn is_empty_str(&self) -> bool {
        self.to_bytes().is_empty()
    }

    /// `strlen(e)`: length of the string form.
    pub fn strlen(&self) -> i32 {
        i32::try_from(self.to_bytes().len()).unwrap_or(i32::MAX)
    }
}

impl From<i32> for Value<'_> {
    fn from(i: i32) -> Self {
        Value::Int(i)
    }
}

/// Parses a whole string as an int the way Kamailio's `str2sint` does for
/// script values: `[+-]?[0-9]+` or `0x[0-9a-fA-F]+`, 32-bit wrapping.
pub fn str_to_int(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i32 = 0;
    if let Some(hex) = digits.strip_prefix(b"0x") {
        if hex.is_empty() {
            return None;
        }
        for &c in hex {
            let d = (c as char).to_digit(16)?;
            n = n.wrapping_mul(16).wrapping_add(d as i32);
        }
    } else {
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
        }
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

/// Integer operators with C semantics on 32-bit ints. Division or modulo by
/// zero is an expression error (`None`), which a condition treats as false.
pub mod int {
    pub fn sub(a: i32, b: i32) -> i32 {
        a.wrapping_sub(b)
    }
    pub fn mul(a: i32, b: i32) -> i32 {
        a.wrapping_mul(b)
    }
    pub fn div(a: i32, b: i32) -> Option<i32> {
        (b != 0).then(|| a.wrapping_div(b))
    }
    pub fn rem(a: i32, b: i32) -> Option<i32> {
        (b != 0).then(|| a.wrapping_rem(b))
    }
    pub fn shl(a: i32, b: i32) -> i32 {
        a.wrapping_shl(b as u32)
    }
    pub fn shr(a: i32, b: i32) -> i32 {
        a.wrapping_shr(b as u32)
    }
}

thread_local! {
    /// Set by [`binop`] on an expression error (division or modulo by zero).
    static EXPR_ERROR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether an expression error (division or modulo by zero) happened since
/// the last call, and clears it. An assignment reads it: Kamailio's
/// `lval_assign` fails on such an error and leaves the destination as it
/// was (the expression's value is `$null` here).
pub fn take_expr_error() -> bool {
    EXPR_ERROR.with(|e| e.replace(false))
}

/// A PV getter's failure (Kamailio's getter returning -1): an empty
/// string, as Kamailio prints it, and an error [`take_expr_error`] sees
/// for `$x = pv` (which assigns `$null` then, and is -1).
pub fn pv_error() -> Value<'static> {
    EXPR_ERROR.with(|e| e.set(true));
    Value::str(b"")
}

fn expr_error() -> OwnedValue {
    EXPR_ERROR.with(|e| e.set(true));
    Value::Null
}

/// A binary operator applied to two values: its result as Kamailio
/// computes it. `&&`/`||` here see both operands; back ends short-circuit
/// them before evaluating the right one.
#[inline]
pub fn binop(op: BinOp, l: &Value<'_>, r: &Value<'_>) -> OwnedValue {
    let ints = || (l.to_int(), r.to_int());
    match op {
        BinOp::Add => l.add(r),
        BinOp::Sub => Value::Int(int::sub(ints().0, ints().1)),
        BinOp::Mul => Value::Int(int::mul(ints().0, ints().1)),
        BinOp::Div => int::div(ints().0, ints().1).map_or_else(expr_error, Value::Int),
        BinOp::Mod => int::rem(ints().0, ints().1).map_or_else(expr_error, Value::Int),
        BinOp::BitAnd => Value::Int(ints().0 & ints().1),
        BinOp::BitOr => Value::Int(ints().0 | ints().1),
        BinOp::BitXor => Value::Int(ints().0 ^ ints().1),
        BinOp::Shl => Value::Int(int::shl(ints().0, ints().1)),
        BinOp::Shr => Value::Int(int::shr(ints().0, ints().1)),
        op => Value::Int(i32::from(compare(op, l, r))),
    }
}

/// A comparison or logical operator's truth (`==` typed by the left
/// operand, `eq` as strings, `<` as ints...). Arithmetic operators are
/// true when their result is non-zero.
#[inline]
pub fn compare(op: BinOp, l: &Value<'_>, r: &Value<'_>) -> bool {
    match op {
        BinOp::Eq => l.equals(r),
        BinOp::Ne => !l.equals(r),
        BinOp::StrEq => l.to_bytes() == r.to_bytes(),
        BinOp::StrNe => l.to_bytes() != r.to_bytes(),
        BinOp::IntEq => l.to_int() == r.to_int(),
        BinOp::IntNe => l.to_int() != r.to_int(),
        BinOp::Lt => l.to_int() < r.to_int(),
        BinOp::Gt => l.to_int() > r.to_int(),
        BinOp::Le => l.to_int() <= r.to_int(),
        BinOp::Ge => l.to_int() >= r.to_int(),
        BinOp::And => l.is_nonzero() && r.is_nonzero(),
        BinOp::Or => l.is_nonzero() || r.is_nonzero(),
        op => binop(op, l, r).is_nonzero(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_by_name() {
        let s = |x: &'static str| Value::str(x.as_bytes());
        assert_eq!(
            binop(BinOp::Div, &Value::Int(7), &Value::Int(0)),
            Value::Null
        );
        assert_eq!(
            binop(BinOp::Add, &s("a"), &Value::Int(1)),
            Value::string("a1")
        );
        assert_eq!(binop(BinOp::Lt, &Value::Int(1), &s("2")), Value::Int(1));
        assert!(compare(BinOp::StrEq, &Value::Int(10), &s("10")));
        assert!(!compare(BinOp::Eq, &s("010"), &Value::Int(10)));
        assert!(compare(BinOp::Sub, &Value::Int(3), &Value::Int(2)));
    }

    fn s(x: &str) -> Value<'_> {
        Value::str(x.as_bytes())
    }

    #[test]
    fn string_to_int_is_all_or_nothing() {
        // kamailio-cfg-language.md §5.3 [verified]
        assert_eq!(s("12abc").to_int(), 0);
        assert_eq!(s(" 12").to_int(), 0);
        assert_eq!(s("010").to_int(), 10);
        assert_eq!(s("-7").to_int(), -7);
        assert_eq!(s("0x1F").to_int(), 31);
        assert_eq!(s("").to_int(), 0);
        assert_eq!(s("-").to_int(), 0);
        assert_eq!(Value::Null.to_int(), 0);
    }

    #[test]
    fn plus_is_typed_by_the_left_operand() {
        // "ab"+1+2 gives "ab12"; 1+2+"a" gives 3; $v(int 5)+"1" gives 6;
        // $v("12abc")+1 gives "12abc1".
        let ab12 = s("ab").add(&Value::Int(1)).add(&Value::Int(2));
        assert_eq!(ab12, Value::string("ab12"));
        assert_eq!(
            Value::Int(1).add(&Value::Int(2)).add(&s("a")),
            Value::Int(3)
        );
        assert_eq!(Value::Int(5).add(&s("1")), Value::Int(6));
        assert_eq!(s("12abc").add(&Value::Int(1)), Value::string("12abc1"));
        assert_eq!(Value::Null.add(&Value::Int(1)), Value::string("1"));
    }

    #[test]
    fn equality_is_typed_by_the_left_operand() {
        // "10" == 10 true; "010" == 10 false; 10 == "010" true;
        // 0 == "abc" true; "abc" == 0 false.
        assert!(s("10").equals(&Value::Int(10)));
        assert!(!s("010").equals(&Value::Int(10)));
        assert!(Value::Int(10).equals(&s("010")));
        assert!(Value::Int(0).equals(&s("abc")));
        assert!(!s("abc").equals(&Value::Int(0)));
        assert!(Value::Null.equals(&Value::Int(0)));
        assert!(Value::Null.equals(&s("")));
        assert!(!s("A").equals(&s("a")), "case-sensitive");
    }

    #[test]
    fn truth() {
        assert!(!Value::Int(-1).is_true());
        assert!(Value::Int(-1).is_nonzero());
        assert!(s("7").is_true());
        assert!(!s("abc").is_true());
        assert!(!s("-1").is_true());
        assert!(!Value::Null.is_true());
    }

    #[test]
    fn int_arithmetic_is_32_bit_c() {
        assert_eq!(
            Value::Int(i32::MAX).add(&Value::Int(1)),
            Value::Int(i32::MIN)
        );
        assert_eq!(int::rem(-7, 3), Some(-1));
        assert_eq!(int::div(7, 2), Some(3));
        assert_eq!(int::div(1, 0), None);
        assert_eq!(int::div(i32::MIN, -1), Some(i32::MIN));
        assert_eq!(int::shl(1, 3), 8);
    }

    #[test]
    fn strempty_of_int_zero_is_false() {
        assert!(!Value::Int(0).is_empty_str());
        assert!(Value::Null.is_empty_str());
        assert!(s("").is_empty_str());
    }
}
