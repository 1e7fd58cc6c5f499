# Shared part of the Debian cross toolchain files (toolchain-<arch>.cmake):
# the <triple>-g++ cross compiler, its sysroot /usr/<triple>, and qemu-user
# as the emulator, so ctest and add_test commands run the target's binaries.
# Set CVM_CROSS_TRIPLE and CMAKE_SYSTEM_PROCESSOR before including this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CVM_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${CVM_CROSS_TRIPLE}-g++)

set(CMAKE_FIND_ROOT_PATH /usr/${CVM_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Header-only dependencies (nlohmann/json, Catch2 v2, xsimd) come from the
# build host's include directory: cmake/host_headers.cmake stages just those
# folders, so the host's own system headers never reach the cross compiler.
set(CVM_HOST_HEADERS_DIR /usr/include CACHE PATH "Where the host's header-only dependencies live")

set(CMAKE_CROSSCOMPILING_EMULATOR ${CVM_CROSS_QEMU} -L /usr/${CVM_CROSS_TRIPLE})
