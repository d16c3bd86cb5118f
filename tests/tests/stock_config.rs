//! `/etc/kamailio/kamailio.cfg` passes `cfgc check` with every `WITH_*`
//! define combination that `kamailio -c` accepts (singles, pairs, and the
//! largest accepted set), given the same `-A` defines.

use std::path::Path;

use tests::{STOCK_CFG, cfgc_check, kamailio_check, rendered_errors, stock_with_defines};

/// Kamailio needs a database URL for the DB-backed options.
const DBURL: &str = "DBURL=\"mysql://kamailio:kamailiorw@localhost/kamailio\"";

fn assert_same_verdict(defines: &[&str], accepted_count: &mut usize) {
    let path = Path::new(STOCK_CFG);
    let kam = kamailio_check(path, defines);
    if !kam.accepted {
        return;
    }
    *accepted_count += 1;
    let report = cfgc_check(path, defines, false);
    assert!(
        !report.has_errors(),
        "kamailio -c accepts {STOCK_CFG} with {defines:?}, cfgc reports:\n{}",
        rendered_errors(&report)
    );
}

#[test]
fn stock_config_without_defines() {
    let path = Path::new(STOCK_CFG);
    let kam = kamailio_check(path, &[]);
    assert!(
        kam.accepted,
        "kamailio -c rejects the stock config:\n{}",
        kam.output
    );
    let report = cfgc_check(path, &[], false);
    assert!(!report.has_errors(), "{}", rendered_errors(&report));
    // The stock config has real routing logic: the parse must have found it.
    let routes = report
        .ast
        .items
        .iter()
        .filter(|i| matches!(i, cfgc::syntax::ast::Item::Route(_)))
        .count();
    assert!(routes >= 10, "only {routes} route blocks parsed");
}

#[test]
fn stock_config_every_single_define() {
    let names = stock_with_defines();
    assert!(names.len() >= 15, "few WITH_* defines found: {names:?}");
    let mut accepted = 0;
    for n in &names {
        assert_same_verdict(&[n.as_str(), DBURL], &mut accepted);
    }
    assert!(
        accepted >= 10,
        "kamailio accepted only {accepted} single defines"
    );
}

#[test]
fn stock_config_every_pair_of_defines() {
    let names = stock_with_defines();
    let mut accepted = 0;
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            assert_same_verdict(&[a.as_str(), b.as_str(), DBURL], &mut accepted);
        }
    }
    assert!(accepted >= 50, "kamailio accepted only {accepted} pairs");
}

#[test]
fn stock_config_largest_accepted_set() {
    // Grow a set greedily, keeping each define that kamailio still accepts.
    let path = Path::new(STOCK_CFG);
    let names = stock_with_defines();
    let mut set: Vec<&str> = vec![DBURL];
    for n in &names {
        set.push(n);
        if !kamailio_check(path, &set).accepted {
            set.pop();
        }
    }
    assert!(set.len() >= 10, "largest accepted set is small: {set:?}");
    let report = cfgc_check(path, &set, false);
    assert!(
        !report.has_errors(),
        "with {set:?}:\n{}",
        rendered_errors(&report)
    );
}
