# Cross build for IBM Z (big-endian) with Debian's g++-s390x-linux-gnu; tests
# run under qemu-s390x (qemu-user). See tools/cross_check.sh.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CVM_CROSS_TRIPLE s390x-linux-gnu)
set(CVM_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/cross-linux-gnu.cmake)
