"""The Maple IDL compiler's modules (tools/idlc is the command; docs/idl.md the language)."""
