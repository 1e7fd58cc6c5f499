# Cross build for 64-bit Arm with Debian's g++-aarch64-linux-gnu; tests run
# under qemu-aarch64 (qemu-user). See tools/cross_check.sh.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CVM_CROSS_TRIPLE aarch64-linux-gnu)
set(CVM_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-linux-gnu.cmake)
