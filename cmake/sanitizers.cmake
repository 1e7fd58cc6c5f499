# Sanitizer and fuzzing builds. Included from the top CMakeLists.txt before any
# target is defined, so the flags reach every object (runtime, tests, tools).
# The default build (CVM_SANITIZE empty, CVM_FUZZ OFF) is unchanged.
#
#   -DCVM_SANITIZE=address   AddressSanitizer + UndefinedBehaviorSanitizer,
#                            every report fatal (-fno-sanitize-recover=all)
#   -DCVM_SANITIZE=thread    ThreadSanitizer
#   -DCVM_FUZZ=ON            libFuzzer targets in fuzz/ (clang only), with the
#                            runtime built under ASan + UBSan
#
# Debug information and optimisation come from the build type. Sanitized code
# builds three times faster at -O1 -g1 (line tables, enough for reports) than
# at RelWithDebInfo's -O2 -g; .ci/run uses:
#   -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"

set(CVM_SANITIZE "" CACHE STRING "Sanitizer build: empty, address (ASan+UBSan) or thread (TSan)")
set_property(CACHE CVM_SANITIZE PROPERTY STRINGS "" address thread)
option(CVM_FUZZ "Build the libFuzzer targets in fuzz/ (requires clang)" OFF)

set(_cvm_san_flags "")
if(CVM_SANITIZE STREQUAL "address")
  set(_cvm_san_flags -fsanitize=address,undefined -fno-sanitize-recover=all)
elseif(CVM_SANITIZE STREQUAL "thread")
  set(_cvm_san_flags -fsanitize=thread)
elseif(NOT CVM_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CVM_SANITIZE must be empty, address or thread, not '${CVM_SANITIZE}'")
endif()

if(CVM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CVM_FUZZ=ON needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang)")
  endif()
  if(CVM_SANITIZE STREQUAL "thread")
    message(FATAL_ERROR "CVM_FUZZ=ON builds with ASan + UBSan; it cannot be combined with CVM_SANITIZE=thread")
  endif()
  # Everything is instrumented for coverage; only the fuzz targets link
  # libFuzzer's main (fuzz/CMakeLists.txt adds -fsanitize=fuzzer).
  set(_cvm_san_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
endif()

if(_cvm_san_flags)
  add_compile_options(${_cvm_san_flags} -fno-omit-frame-pointer)
  add_link_options(${_cvm_san_flags})
  message(STATUS "cvm: sanitizer flags ${_cvm_san_flags}")
endif()
