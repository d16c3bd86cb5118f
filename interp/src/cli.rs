//! The `cfgc-interp` command line (also reached as `bench serve-interp`):
//! checks and lowers a kamailio.cfg like `cfgc build`, then runs the proxy
//! with the program interpreted instead of compiled.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cfgc-interp [-A NAME[=VALUE]]... FILE [-- PROXY-FLAGS]

Runs FILE (a kamailio.cfg) as a SIP proxy, interpreting the routing logic
instead of compiling it. PROXY-FLAGS are the compiled proxy's (-l, -n, -E,
-d...; see -- --help).
";

/// Runs `cfgc-interp` with its arguments (without the program name).
pub fn main(argv: impl IntoIterator<Item = String>) -> ExitCode {
    let mut config = cfgc::Config::new();
    let mut file = None;
    let mut args = argv.into_iter();
    let mut proxy_args = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-A" => match args.next() {
                Some(d) => {
                    config.define_arg(&d);
                }
                None => return usage("-A needs NAME[=VALUE]"),
            },
            "--" => {
                proxy_args.extend(args.by_ref());
            }
            s if s.starts_with('-') && file.is_none() => {
                return usage(&format!("unknown option `{s}`"));
            }
            _ if file.is_none() => file = Some(a),
            _ => proxy_args.push(a),
        }
    }
    let Some(file) = file else {
        return usage("no FILE");
    };
    let generated = match config.generate_file(&file) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = &generated.report;
    let blocking: Vec<_> = r
        .diagnostics
        .iter()
        .filter(|d| d.severity != cfgc::Severity::Warning)
        .collect();
    let (Some(program), true) = (&generated.program, blocking.is_empty()) else {
        for d in &r.diagnostics {
            eprint!("{}", r.render(d));
        }
        eprintln!("cfgc-interp: {file}: cannot run");
        return ExitCode::FAILURE;
    };
    let interp = match crate::Interp::load(program) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = program.settings.clone();
    let parsed = match runtime::proxy::parse_args(proxy_args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage(&e),
    };
    match runtime::proxy::run(interp, &settings, &parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
