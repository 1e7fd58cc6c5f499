# Cross build for 32-bit x86 (size_t of 32 bits) with Debian's
# g++-i686-linux-gnu; tests run under qemu-i386 (qemu-user). Only the scalar
# kernels are built there (CMakeLists.txt compiles the AVX2/AVX-512 units for
# x86-64 alone). See tools/cross_check.sh.
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CVM_CROSS_TRIPLE i686-linux-gnu)
set(CVM_CROSS_QEMU qemu-i386)
include(${CMAKE_CURRENT_LIST_DIR}/cross-linux-gnu.cmake)
