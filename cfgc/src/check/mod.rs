//! Semantic checks over the syntax tree, driven by the module catalog.
