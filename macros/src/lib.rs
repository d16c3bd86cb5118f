//! `kamailio_cfg!`: a thin proc-macro shim over the cfgc library (code generation lands with issue 4).
