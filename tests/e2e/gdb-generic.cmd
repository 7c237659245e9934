# Generic gdb commands run on every core by e2e.py, before the fixture's own
# oracle/extra.cmd. Must stay identical to the set the oracles were taken with
# (fixtures/PROVENANCE.md): any change here invalidates every oracle/gdb-N.out.
set pagination off
set width 0
set height 0
set confirm off
info threads
thread apply all bt
thread apply all info all-registers
info auxv
info sharedlibrary
info proc mappings
