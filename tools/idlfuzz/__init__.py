"""The idlc fuzzer (fuzz.py) and its worker process (worker.py); docs/idl.md, "Fuzzing".

Kept out of tools/idl/, whose every file the idlc build edges depend on."""
