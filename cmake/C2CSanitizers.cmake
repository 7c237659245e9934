# C2C_SANITIZE=address,undefined instruments every target, tests included.
set(C2C_SANITIZE "" CACHE STRING "sanitizers to build with, e.g. address,undefined")
if(C2C_SANITIZE)
	add_compile_options(-fsanitize=${C2C_SANITIZE} -fno-omit-frame-pointer
		-fno-sanitize-recover=all)
	add_link_options(-fsanitize=${C2C_SANITIZE})
endif()
