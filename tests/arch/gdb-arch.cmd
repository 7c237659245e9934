# gdb commands run by tests/arch/arch.py on qemu's reference core, on gdb's
# gcore of the same process (for the registers qemu's core lacks) and on the
# converter's core. Each "echo @@ NAME" line starts a section of the output;
# arch.py uses them to know which lines are register lines of which command.
set pagination off
set width 0
set height 0
set confirm off
echo @@ info threads\n
info threads
echo @@ thread apply all bt\n
thread apply all bt
echo @@ thread apply all info registers\n
thread apply all info registers
echo @@ thread apply all info all-registers\n
thread apply all info all-registers
echo @@ info sharedlibrary\n
info sharedlibrary
echo @@ x/s &secret\n
x/s &secret
echo @@ x/8dw array\n
x/8dw array
