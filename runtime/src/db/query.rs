//! The SQL Kamailio's db helpers generate (modules-db-auth-media.md §1.2),
//! byte for byte: what a database sees from a module's `select`,
//! `insert`, `update` and `delete`. Identifiers are quoted with the
//! driver's quote (backtick for MySQL, none for PostgreSQL and SQLite);
//! operators have no spaces, conditions are joined by ` AND `.

use std::fmt::Write as _;

/// A comparison operator of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }
}

/// A value in a statement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val<'a> {
    Null,
    Int(i64),
    /// Printed `%-10.6f`, as Kamailio does.
    Double(f64),
    Str(&'a str),
}

impl Val<'_> {
    /// Writes the value; `q` is the driver's identifier quote (a backtick
    /// means MySQL, whose strings also escape backslashes).
    fn write(&self, q: &str, out: &mut String) {
        match self {
            Val::Null => out.push_str("NULL"),
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Double(d) => {
                let _ = write!(out, "{:<10}", format!("{d:.6}"));
            }
            Val::Str(s) => {
                out.push('\'');
                out.push_str(&escape(s, q == "`"));
                out.push('\'');
            }
        }
    }
}

/// Escapes a string for a single-quoted SQL literal: `'` doubled (every
/// driver reads `''`), and for MySQL backslash and NUL escaped as
/// `mysql_real_escape_string` does (PostgreSQL with standard strings and
/// SQLite read a backslash literally).
pub fn escape(s: &str, mysql: bool) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' => o.push_str("''"),
            '\\' if mysql => o.push_str("\\\\"),
            '\0' if mysql => o.push_str("\\0"),
            c => o.push(c),
        }
    }
    o
}

fn conditions(out: &mut String, q: &str, conds: &[(&str, Op, Val<'_>)]) {
    if conds.is_empty() {
        return;
    }
    out.push_str(" where ");
    for (i, (k, op, v)) in conds.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        let _ = write!(out, "{q}{k}{q}{}", op.text());
        v.write(q, out);
    }
}

/// `select c1,c2 from tbl where k='v' order by col`.
#[derive(Clone, Copy, Debug)]
pub struct Select<'a> {
    pub table: &'a str,
    /// Empty: `*`.
    pub columns: &'a [&'a str],
    pub conditions: &'a [(&'a str, Op, Val<'a>)],
    pub order_by: Option<&'a str>,
}

impl Select<'_> {
    /// The statement, identifiers quoted with `q`.
    pub fn sql(&self, q: &str) -> String {
        let mut out = String::from("select ");
        if self.columns.is_empty() {
            out.push_str("* ");
        } else {
            let cols: Vec<String> = self.columns.iter().map(|c| format!("{q}{c}{q}")).collect();
            out.push_str(&cols.join(","));
            out.push(' ');
        }
        let _ = write!(out, "from {q}{}{q}", self.table);
        conditions(&mut out, q, self.conditions);
        if let Some(o) = self.order_by {
            let _ = write!(out, " order by {o}");
        }
        out
    }
}

/// `insert into tbl (c1,c2 ) values ('v1','v2')`.
pub fn insert(q: &str, table: &str, values: &[(&str, Val<'_>)]) -> String {
    let mut out = format!("insert into {q}{table}{q} (");
    let cols: Vec<String> = values.iter().map(|(c, _)| format!("{q}{c}{q}")).collect();
    out.push_str(&cols.join(","));
    out.push_str(" ) values (");
    for (i, (_, v)) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        v.write(q, &mut out);
    }
    out.push(')');
    out
}

/// `update tbl set c1='v1',c2='v2' where k='v'`.
pub fn update(
    q: &str,
    table: &str,
    set: &[(&str, Val<'_>)],
    conds: &[(&str, Op, Val<'_>)],
) -> String {
    let mut out = format!("update {q}{table}{q} set ");
    for (i, (c, v)) in set.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{q}{c}{q}=");
        v.write(q, &mut out);
    }
    conditions(&mut out, q, conds);
    out
}

/// `delete from tbl where k1<'v1' AND k2!='v2'`.
pub fn delete(q: &str, table: &str, conds: &[(&str, Op, Val<'_>)]) -> String {
    let mut out = format!("delete from {q}{table}{q}");
    conditions(&mut out, q, conds);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_kamailios_bytes() {
        let s = Select {
            table: "tbl",
            columns: &["c1", "c2"],
            conditions: &[
                ("k1", Op::Eq, Val::Str("v1")),
                ("k2", Op::Eq, Val::Str("v2")),
            ],
            order_by: Some("q"),
        };
        assert_eq!(
            s.sql("`"),
            "select `c1`,`c2` from `tbl` where `k1`='v1' AND `k2`='v2' order by q"
        );
        let all = Select {
            table: "tbl",
            columns: &[],
            conditions: &[],
            order_by: None,
        };
        assert_eq!(all.sql("`"), "select * from `tbl`");
        assert_eq!(
            insert(
                "`",
                "tbl",
                &[("c1", Val::Str("v1")), ("c2", Val::Str("v2"))]
            ),
            "insert into `tbl` (`c1`,`c2` ) values ('v1','v2')"
        );
        assert_eq!(
            update(
                "`",
                "tbl",
                &[("c1", Val::Str("v1")), ("c2", Val::Str("v2"))],
                &[("k", Op::Eq, Val::Str("v"))]
            ),
            "update `tbl` set `c1`='v1',`c2`='v2' where `k`='v'"
        );
        assert_eq!(
            delete(
                "",
                "tbl",
                &[
                    ("k1", Op::Lt, Val::Str("v1")),
                    ("k2", Op::Ne, Val::Str("v2"))
                ]
            ),
            "delete from tbl where k1<'v1' AND k2!='v2'"
        );
        let mut d = String::new();
        Val::Double(-1.0).write("`", &mut d);
        assert_eq!(d, "-1.000000 ");
        let mut n = String::new();
        Val::Null.write("", &mut n);
        Val::Int(7).write("", &mut n);
        assert_eq!(n, "NULL7");
        assert_eq!(escape("it's \\", true), "it''s \\\\");
        assert_eq!(escape("it's \\", false), "it''s \\");
    }
}
