# Warnings for our own targets only (never global CMAKE_C_FLAGS, so generated
# protobuf-c code is not affected). Link c2c_warnings PRIVATE.
add_library(c2c_warnings INTERFACE)
target_compile_options(c2c_warnings INTERFACE
	-Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wold-style-definition
	-Wmissing-prototypes -Wundef -Wcast-qual -Wcast-align -Wwrite-strings -Wnull-dereference
	-Wimplicit-fallthrough -Wvla
	$<$<C_COMPILER_ID:GNU>:-Wlogical-op -Wduplicated-cond>)
