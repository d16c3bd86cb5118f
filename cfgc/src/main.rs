//! The `cfgc` command line: a thin layer over the library.

use std::process::ExitCode;

use cfgc::{Config, Severity};

const USAGE: &str = "\
cfgc: compile a Kamailio kamailio.cfg into a native SIP proxy

usage:
  cfgc check [options] FILE     check a configuration (exit 0 clean, 1 diagnostics)
  cfgc emit [options] FILE      print the generated Rust on standard output
  cfgc build [options] FILE -o BIN   build a proxy binary (cargo, release)
  cfgc run [options] FILE [-- ARGS]  build, then run the proxy with ARGS
  cfgc run --interpret [options] FILE [-- ARGS]
                                interpret FILE instead (the interpreter is
                                built on first use, like a proxy)
  cfgc SUBCOMMAND --help        help on one subcommand

options:
  -A NAME[=VALUE]        define NAME, as kamailio -A (repeatable)
  --subst=EXP            as kamailio --subst (also --substdef=, --substdefs=)
  --syntax-only          stop after parsing
  --format human|json    how to print diagnostics (default human)
  --unsupported          also list what cfgc's runtime does not support yet
  -W, --no-warnings      do not print warnings
  -o BIN                 where `build` writes the proxy binary
  --offline              build without touching the network
  -h, --help             this text

";

/// Options every subcommand that reads a cfg takes.
const CFG_OPTIONS: &str = "  -A NAME[=VALUE]        define NAME, as kamailio -A (repeatable)
  --subst=EXP            as kamailio --subst (also --substdef=, --substdefs=)
  -h, --help             this text
";

/// `cfgc SUBCOMMAND --help`.
fn subcommand_help(verb: &str) -> Option<String> {
    let (usage, what, own) = match verb {
        "check" => (
            "cfgc check [options] FILE",
            "Checks a configuration: syntax, modules, calls, routes, PVs, lints.\n\
Exit status: 0 clean (warnings allowed), 1 errors found, 2 usage or I/O error.",
            "  --syntax-only          stop after parsing
  --format human|json    how to print diagnostics (default human; json: one
                         object per line, on stdout)
  --unsupported          also list what cfgc's runtime does not support yet
  -W, --no-warnings      do not print warnings
",
        ),
        "emit" => (
            "cfgc emit [options] FILE",
            "Prints the Rust generated for FILE on standard output (exit 1, and\n\
the diagnostics, if it cannot be compiled).",
            "",
        ),
        "build" => (
            "cfgc build [options] FILE -o BIN",
            "Builds a proxy binary for FILE: a cargo package under the cache\n\
directory ($CFGC_CACHE, else ~/.cache/cfgc), built in release mode in a\n\
target directory shared by all configurations.",
            "  -o BIN                 where to write the proxy binary (required)
  --offline              build without touching the network
",
        ),
        "run" => (
            "cfgc run [--interpret] [options] FILE [-- ARGS]",
            "Builds the proxy for FILE (as `cfgc build`) and runs it with ARGS, the\n\
proxy's flags (Kamailio's: -l ADDR, -n WORKERS, -E, -d...).\n\
With --interpret, FILE is interpreted instead, on the same runtime; the\n\
interpreter is built on first use, like a proxy, and again only when its\n\
sources change.",
            "  --interpret            interpret FILE instead of compiling it
  --offline              build without touching the network
",
        ),
        _ => return None,
    };
    Some(format!(
        "usage: {usage}\n\n{what}\n\noptions:\n{own}{CFG_OPTIONS}"
    ))
}

struct Args {
    config: Config,
    file: Option<String>,
    out: Option<String>,
    offline: bool,
    json: bool,
    unsupported: bool,
    warnings: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        config: Config::new(),
        file: None,
        out: None,
        offline: false,
        json: false,
        unsupported: false,
        warnings: true,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-A" => {
                let v = it.next().ok_or("-A needs NAME or NAME=VALUE")?;
                a.config.define_arg(&v);
            }
            s if s.starts_with("-A") && s.len() > 2 => {
                a.config.define_arg(&s[2..]);
            }
            "--syntax-only" => {
                a.config.syntax_only(true);
            }
            "--format" => match it.next().as_deref() {
                Some("json") => a.json = true,
                Some("human") => a.json = false,
                _ => return Err("--format takes `human` or `json`".into()),
            },
            "--format=json" => a.json = true,
            "--format=human" => a.json = false,
            "--unsupported" => a.unsupported = true,
            "-o" => a.out = Some(it.next().ok_or("-o needs a path")?),
            "--offline" => a.offline = true,
            "-W" | "--no-warnings" => a.warnings = false,
            s if s.starts_with("--subst=")
                || s.starts_with("--substdef=")
                || s.starts_with("--substdefs=") =>
            {
                let (k, v) = s[2..].split_once('=').unwrap_or_default();
                a.config.subst(k, v);
            }
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option `{s}`")),
            _ if a.file.is_none() => a.file = Some(arg),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    Ok(a)
}

/// Prints every diagnostic (warnings included) to stderr.
fn print_diagnostics(report: &cfgc::Report, json: bool) {
    for d in &report.diagnostics {
        if json {
            println!("{}", report.render_json(d));
        } else {
            eprintln!("{}", report.render(d));
        }
    }
}

/// Parses the options and requires a configuration file (exit 2 if not).
fn args_and_file(argv: impl Iterator<Item = String>) -> Result<(Args, String), ExitCode> {
    let mut args = parse_args(argv).map_err(|e| {
        eprintln!("cfgc: {e}\n\n{USAGE}");
        ExitCode::from(2)
    })?;
    let Some(file) = args.file.take() else {
        eprintln!("cfgc: no configuration file given\n\n{USAGE}");
        return Err(ExitCode::from(2));
    };
    Ok((args, file))
}

/// Runs every pass up to code generation (exit 2 if the file is unreadable).
fn generate(args: &Args, file: &str) -> Result<cfgc::Generated, ExitCode> {
    args.config.generate_file(file).map_err(|e| {
        eprintln!("cfgc: cannot read {file}: {e}");
        ExitCode::from(2)
    })
}

fn emit(argv: impl Iterator<Item = String>) -> ExitCode {
    let (args, file) = match args_and_file(argv) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let generated = match generate(&args, &file) {
        Ok(g) => g,
        Err(code) => return code,
    };
    match generated.code {
        Some(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        None => {
            print_diagnostics(&generated.report, false);
            eprintln!("cfgc: {file}: no code generated");
            ExitCode::from(1)
        }
    }
}

fn run(argv: impl Iterator<Item = String>) -> ExitCode {
    let all: Vec<String> = argv.collect();
    let (ours, proxy_args) = match all.iter().position(|a| a == "--") {
        Some(i) => (all[..i].to_vec(), all[i + 1..].to_vec()),
        None => (all, Vec::new()),
    };
    let offline = ours.iter().any(|a| a == "--offline");
    let Some(file) = ours.iter().rev().find(|a| !a.starts_with('-')).cloned() else {
        eprintln!("cfgc: run needs FILE\n\n{USAGE}");
        return ExitCode::from(2);
    };
    use std::os::unix::process::CommandExt as _;
    if ours.iter().any(|a| a == "--interpret") {
        // The interpreter links the runtime, which cfgc must not: it is its
        // own binary, built on demand in cfgc's cache like a proxy.
        let passed = ours
            .iter()
            .filter(|a| *a != "--interpret" && *a != "--offline" && **a != file);
        let interp = match cfgc::package::interpreter(&cfgc::package::cache_dir(), offline) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("cfgc: cannot build the interpreter: {e}");
                return ExitCode::from(1);
            }
        };
        let err = std::process::Command::new(&interp)
            .args(passed)
            .arg(&file)
            .arg("--")
            .args(&proxy_args)
            .exec();
        eprintln!("cfgc: cannot run {}: {err}", interp.display());
        return ExitCode::from(2);
    }
    let bin = cfgc::package::cache_dir()
        .join("bin")
        .join(std::path::Path::new(&file).file_stem().unwrap_or_default());
    if let Some(dir) = bin.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("cfgc: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let mut build_args = ours;
    build_args.push("-o".into());
    build_args.push(bin.display().to_string());
    let code = build(build_args.into_iter());
    if code != ExitCode::SUCCESS {
        return code;
    }
    let err = std::process::Command::new(&bin).args(proxy_args).exec();
    eprintln!("cfgc: cannot run {}: {err}", bin.display());
    ExitCode::from(2)
}

fn build(argv: impl Iterator<Item = String>) -> ExitCode {
    let (mut args, file) = match args_and_file(argv) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(out) = args.out.take() else {
        eprintln!("cfgc: build needs -o BIN\n\n{USAGE}");
        return ExitCode::from(2);
    };
    let generated = match generate(&args, &file) {
        Ok(g) => g,
        Err(code) => return code,
    };
    let Some(code) = generated.code else {
        print_diagnostics(&generated.report, false);
        eprintln!("cfgc: {file}: not built");
        return ExitCode::from(1);
    };
    let cfg = std::path::Path::new(&file);
    let dir = match cfgc::package::write_package(&cfgc::package::cache_dir(), cfg, &code) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cfgc: cannot write the generated package: {e}");
            return ExitCode::from(2);
        }
    };
    match cfgc::package::build(
        &cfgc::package::cache_dir(),
        &dir,
        cfg,
        std::path::Path::new(&out),
        args.offline,
    ) {
        Ok(()) => {
            eprintln!("cfgc: built {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cfgc: {e} (package in {})", dir.display());
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let verb = all.first().cloned();
    // `cfgc SUBCOMMAND --help` (before a `--`: after it, ARGS are the
    // proxy's) and `cfgc help SUBCOMMAND`.
    let help_for = match verb.as_deref() {
        Some("help") => all.get(1).cloned(),
        Some(v) => all
            .iter()
            .skip(1)
            .take_while(|a| *a != "--")
            .any(|a| a == "-h" || a == "--help")
            .then(|| v.to_string()),
        None => None,
    };
    if let Some(v) = help_for {
        return match subcommand_help(&v) {
            Some(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("cfgc: no subcommand `{v}`\n\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let argv = all.into_iter().skip(1);
    match verb.as_deref() {
        Some("check") => {}
        Some("emit") => return emit(argv),
        Some("build") => return build(argv),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("run") => return run(argv),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let (mut args, file) = match args_and_file(argv) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Lowering's diagnostics too: what `cfgc build` refuses, `check` lists.
    args.config.lower(true);
    let report = match args.config.check_file(&file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cfgc: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut counts = [0usize; 3];
    let mut out = String::new();
    for d in &report.diagnostics {
        let shown = match d.severity {
            Severity::Error => true,
            Severity::Warning => args.warnings,
            Severity::Unsupported => args.unsupported,
        };
        counts[d.severity as usize] += 1;
        if !shown {
            continue;
        }
        if args.json {
            out.push_str(&report.render_json(d));
            out.push('\n');
        } else {
            out.push_str(&report.render(d));
            out.push('\n');
        }
    }
    let [errors, unsupported, warnings] = counts;
    if args.json {
        print!("{out}");
    } else {
        eprint!("{out}");
        if errors > 0 {
            eprintln!("cfgc: {file}: {errors} error(s), {warnings} warning(s)");
        } else if warnings > 0 {
            eprintln!("cfgc: {file}: ok, {warnings} warning(s)");
        }
        if unsupported > 0 && !args.unsupported {
            eprintln!(
                "cfgc: note: {unsupported} construct(s) valid for Kamailio are not supported by cfgc's runtime yet (see --unsupported)"
            );
        }
    }
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
